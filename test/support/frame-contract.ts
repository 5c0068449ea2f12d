import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { createAsyncApiDocument, messageKey } from '@app/asyncapi/asyncapi-document';

/** Who sent a frame: a client (a test) or the server. */
export type FrameSender = 'client' | 'server';

const SHOWN_FRAME_CHARACTERS = 500;

/**
 * The AsyncAPI document of `/ws` (asyncapi.json, built from libs/protocol as `npm run asyncapi`
 * builds it), as one compiled validator per message: every frame that the e2e suites send and
 * receive is checked against the payload of its event's message.
 */
export class FrameContract {
  private static compiled: FrameContract | undefined;

  private constructor(private readonly validators: ReadonlyMap<string, ValidateFunction>) {}

  /** Compiled on first use, once per test file. */
  static get(): FrameContract {
    if (!FrameContract.compiled) {
      const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
      addFormats(ajv);
      const validators = new Map<string, ValidateFunction>();
      for (const [key, message] of Object.entries(createAsyncApiDocument().components.messages)) {
        validators.set(key, ajv.compile(message.payload));
      }
      FrameContract.compiled = new FrameContract(validators);
    }
    return FrameContract.compiled;
  }

  /** Why `frame` (parsed JSON) breaks the document, or undefined when it does not. */
  problem(sender: FrameSender, frame: unknown): string | undefined {
    const event = (frame as { event?: unknown } | null)?.event;
    if (typeof event !== 'string') {
      return `A ${sender} frame without an event name breaks asyncapi.json: ${shown(frame)}`;
    }
    const key = messageKey(sender, event);
    const validate = this.validators.get(key);
    if (!validate) {
      return `A ${sender} frame of event "${event}", which asyncapi.json does not have: ${shown(frame)}`;
    }
    if (validate(frame)) {
      return undefined;
    }
    const errors = (validate.errors ?? [])
      .map((error) => `${error.instancePath || '/'} ${error.message ?? ''}`)
      .join('; ');
    return (
      `A ${sender} frame "${event}" breaks asyncapi.json (components.messages.${key}): ` +
      `${errors}. The frame: ${shown(frame)}`
    );
  }
}

function shown(frame: unknown): string {
  const text = JSON.stringify(frame) ?? String(frame);
  return text.length > SHOWN_FRAME_CHARACTERS
    ? `${text.slice(0, SHOWN_FRAME_CHARACTERS)}… (${text.length} characters)`
    : text;
}

const violations: string[] = [];

/** Kept for the check after each test (test/support/frame-contract.setup.ts). */
export function recordFrameViolation(problem: string): void {
  violations.push(problem);
}

export function takeFrameViolations(): string[] {
  return violations.splice(0);
}

/** Why a frame from the server breaks the document, recorded; undefined when it does not. */
export function checkServerFrame(frame: unknown): string | undefined {
  const problem = FrameContract.get().problem('server', frame);
  if (problem) {
    recordFrameViolation(problem);
  }
  return problem;
}

/**
 * Throws when a frame a test is about to send breaks the document. A frame that is invalid on
 * purpose goes through an explicitly unchecked send instead.
 */
export function assertClientFrame(frame: unknown): void {
  const problem = FrameContract.get().problem('client', frame);
  if (problem) {
    throw new Error(`${problem}. A frame that is invalid on purpose is sent with sendUnchecked().`);
  }
}
