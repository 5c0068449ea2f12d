import { TYPING_EXPIRES_MS, TYPING_RELAY_INTERVAL_MS } from '@libs/protocol';

export interface TypingTrackerOptions {
  /** Called when someone who was typing stopped: expired, or their message arrived. */
  stopped: (roomId: string, userId: string) => void;
  expiresMs?: number;
  intervalMs?: number;
  now?: () => number;
}

/**
 * Typing on both sides of RealtimeClient: how often the app's `typing(roomId)` goes out (the server
 * relays at most one per room every TYPING_RELAY_INTERVAL_MS, so sending more only costs frames
 * of the connection's rate limit), and who is typing where, which ends TYPING_EXPIRES_MS after
 * their last `typing` or when their message arrives. One timer per user typing, none after `clear`.
 */
export class TypingTracker {
  /** When the app's last `typing` of each room went out. */
  private readonly sentAt = new Map<string, number>();
  /** `${roomId}\n${userId}` of everyone typing now, with the timer that ends it. */
  private readonly typing = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly options: TypingTrackerOptions) {}

  /** Whether the app's `typing` in `roomId` goes out now (taking the turn if so). */
  takeTurn(roomId: string): boolean {
    const now = (this.options.now ?? Date.now)();
    const last = this.sentAt.get(roomId);
    if (last !== undefined && now - last < (this.options.intervalMs ?? TYPING_RELAY_INTERVAL_MS)) {
      return false;
    }
    this.sentAt.set(roomId, now);
    return true;
  }

  /** `userId` is typing in `roomId`: it ends after the expiry unless another `typing` comes. */
  received(roomId: string, userId: string): void {
    const key = pairKey(roomId, userId);
    clearTimeout(this.typing.get(key));
    const timer = setTimeout(() => this.stop(key, roomId, userId), this.expiresMs);
    this.typing.set(key, timer);
  }

  /** A message from `userId` in `roomId`: they are no longer typing. */
  messageFrom(roomId: string, userId: string): void {
    const key = pairKey(roomId, userId);
    if (this.typing.has(key)) {
      clearTimeout(this.typing.get(key));
      this.stop(key, roomId, userId);
    }
  }

  /** Whether `userId` is typing in `roomId` as far as this client knows. */
  isTyping(roomId: string, userId: string): boolean {
    return this.typing.has(pairKey(roomId, userId));
  }

  /** The app no longer follows the room: its sending turn is forgotten. */
  forgetRoom(roomId: string): void {
    this.sentAt.delete(roomId);
  }

  /** The client closed: no timer is left, and nobody is reported stopped afterwards. */
  clear(): void {
    for (const timer of this.typing.values()) {
      clearTimeout(timer);
    }
    this.typing.clear();
    this.sentAt.clear();
  }

  /** Users typing now, all rooms together. */
  get size(): number {
    return this.typing.size;
  }

  private get expiresMs(): number {
    return this.options.expiresMs ?? TYPING_EXPIRES_MS;
  }

  private stop(key: string, roomId: string, userId: string): void {
    this.typing.delete(key);
    this.options.stopped(roomId, userId);
  }
}

const pairKey = (roomId: string, userId: string) => `${roomId}\n${userId}`;
