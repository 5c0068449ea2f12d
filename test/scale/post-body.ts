/** Steady state, or the posts that go on while an instance is killed and its clients come back. */
export type PostPhase = 'steady' | 'kill';

const PHASE_CODES: Record<PostPhase, string> = { steady: 's', kill: 'k' };
const PHASES_BY_CODE: Record<string, PostPhase> = { s: 'steady', k: 'kill' };

/** What a receiver reads from a post's body: no JSON escaping needed, no parsing of the frame. */
export interface PostStamp {
  phase: PostPhase;
  /** The instance the post was sent to. */
  origin: number;
  /** Date.now() right before it was sent: one machine, one clock. */
  sentAt: number;
}

/** A stamp as read back, with the post's number. */
export interface ReadStamp extends PostStamp {
  index: number;
}

export function postBody(stamp: PostStamp, index: number): string {
  return `${PHASE_CODES[stamp.phase]}:${stamp.origin}:${stamp.sentAt}:${index}`;
}

/** The stamp of a body written by `postBody`; undefined for any other text. */
export function readPostBody(body: string): ReadStamp | undefined {
  const [code, origin, sentAt, index] = body.split(':');
  const phase = PHASES_BY_CODE[code];
  if (!phase || index === undefined) {
    return undefined;
  }
  return { phase, origin: Number(origin), sentAt: Number(sentAt), index: Number(index) };
}
