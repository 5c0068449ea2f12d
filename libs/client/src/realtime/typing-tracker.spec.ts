import { TYPING_EXPIRES_MS, TYPING_RELAY_INTERVAL_MS } from '@libs/protocol';
import { TypingTracker } from './typing-tracker';

describe(TypingTracker.name, () => {
  let now: number;
  let stopped: string[];
  let tracker: TypingTracker;

  beforeEach(() => {
    jest.useFakeTimers();
    now = 1_000_000;
    stopped = [];
    tracker = new TypingTracker({
      stopped: (roomId, userId) => stopped.push(`${roomId} ${userId}`),
      now: () => now,
    });
  });

  afterEach(() => {
    tracker.clear();
    jest.useRealTimers();
  });

  it('lets one typing of a room go out per interval, each room on its own', () => {
    expect(tracker.takeTurn('room')).toBe(true);
    now += TYPING_RELAY_INTERVAL_MS - 1;
    expect(tracker.takeTurn('room')).toBe(false);
    expect(tracker.takeTurn('other')).toBe(true);
    now += 1;
    expect(tracker.takeTurn('room')).toBe(true);

    // A room left and joined again starts afresh.
    tracker.forgetRoom('room');
    expect(tracker.takeTurn('room')).toBe(true);
  });

  it('ends a typing user after the expiry, counted from their last typing', () => {
    tracker.received('room', 'alice');
    jest.advanceTimersByTime(TYPING_EXPIRES_MS - 1000);
    tracker.received('room', 'alice');
    tracker.received('room', 'bob');
    jest.advanceTimersByTime(TYPING_EXPIRES_MS - 1);
    expect(stopped).toEqual([]);
    expect(tracker.isTyping('room', 'alice')).toBe(true);

    jest.advanceTimersByTime(1);
    expect(stopped).toEqual(['room alice', 'room bob']);
    expect(tracker.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it("ends a typing user at once when their message arrives, and no one else's", () => {
    tracker.received('room', 'alice');
    tracker.received('room', 'bob');

    tracker.messageFrom('room', 'alice');
    tracker.messageFrom('other', 'bob');
    tracker.messageFrom('room', 'carol');
    expect(stopped).toEqual(['room alice']);

    jest.advanceTimersByTime(TYPING_EXPIRES_MS);
    // Once each: the message ended alice's typing and its timer.
    expect(stopped).toEqual(['room alice', 'room bob']);
  });

  it('leaves no timer and reports nobody stopped after clear', () => {
    tracker.received('room', 'alice');
    tracker.received('other', 'bob');
    expect(jest.getTimerCount()).toBe(2);

    tracker.clear();
    jest.advanceTimersByTime(TYPING_EXPIRES_MS * 2);

    expect(jest.getTimerCount()).toBe(0);
    expect(stopped).toEqual([]);
    expect(tracker.size).toBe(0);
  });
});
