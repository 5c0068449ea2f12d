import { takeFrameViolations } from './frame-contract';

// Every suite (jest.config.js `setupFilesAfterEnv`): a test in which a frame broke the WebSocket
// protocol's document fails, whichever client saw it, and names each frame and why.
function failOnFrameViolations(): void {
  const violations = takeFrameViolations();
  if (violations.length > 0) {
    throw new Error(`Frames that break asyncapi.json:\n${violations.join('\n')}`);
  }
}

afterEach(failOnFrameViolations);
afterAll(failOnFrameViolations);
