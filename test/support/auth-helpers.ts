import { login, register } from '@libs/client';
import { aRegistration, Registration } from '@test/factories/user.factory';
import { apiClient, expectStatus, HttpTarget } from './api-client';

export type { HttpTarget } from './api-client';

export interface RegisteredUser {
  registration: Registration;
  id: string;
  accessToken: string;
  refreshToken: string;
}

/** Registers a new user through the generated client and returns their tokens. */
export async function registerUser(
  testApp: HttpTarget,
  overrides: Partial<Registration> = {},
): Promise<RegisteredUser> {
  const registration = aRegistration(overrides);
  const body = await expectStatus(
    register({ client: apiClient(testApp), body: registration }),
    201,
  );
  return {
    registration,
    id: body.user.id,
    accessToken: body.accessToken,
    refreshToken: body.refreshToken,
  };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** A second login of a registered user: its own session and tokens. */
export async function logInAgain(
  testApp: HttpTarget,
  user: RegisteredUser,
): Promise<{ accessToken: string; refreshToken: string }> {
  const { username, password } = user.registration;
  return expectStatus(login({ client: apiClient(testApp), body: { username, password } }), 200);
}
