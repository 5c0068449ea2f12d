import { randomBytes } from 'node:crypto';

export interface Registration {
  username: string;
  password: string;
  displayName?: string;
}

let sequence = 0;

/** A valid, unique registration; override any field. */
export function aRegistration(overrides: Partial<Registration> = {}): Registration {
  sequence += 1;
  return {
    username: `user${sequence}_${randomBytes(3).toString('hex')}`,
    password: `password-${randomBytes(6).toString('hex')}`,
    ...overrides,
  };
}
