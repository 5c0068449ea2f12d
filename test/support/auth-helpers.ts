import request from 'supertest';
import { aRegistration, Registration } from '@test/factories/user.factory';
import { TestApp } from './test-app';

/** What supertest sends to: a test app's server, or the URL of a server process. */
export interface HttpTarget {
  server: TestApp['server'] | string;
}

export interface RegisteredUser {
  registration: Registration;
  id: string;
  accessToken: string;
  refreshToken: string;
}

/** Registers a new user through the API and returns their tokens. */
export async function registerUser(
  testApp: HttpTarget,
  overrides: Partial<Registration> = {},
): Promise<RegisteredUser> {
  const registration = aRegistration(overrides);
  const response = await request(testApp.server)
    .post('/api/auth/register')
    .send(registration)
    .expect(201);
  const body = response.body as { accessToken: string; refreshToken: string; user: { id: string } };
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
  const response = await request(testApp.server)
    .post('/api/auth/login')
    .send({ username: user.registration.username, password: user.registration.password })
    .expect(200);
  return response.body as { accessToken: string; refreshToken: string };
}
