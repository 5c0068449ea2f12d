import request from 'supertest';
import { DataSource } from 'typeorm';
import { AuthSession } from '@app/auth/auth-session.entity';
import { AuthSessionPruner } from '@app/auth/auth-session-pruner';
import { registerUser } from '@test/support/auth-helpers';
import { startTestApp, TestApp } from '@test/support/test-app';

/** Expired logins leave `auth_sessions`; live ones stay (SQLite here, PostgreSQL under services). */
describe('expired sessions are pruned (e2e)', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await startTestApp();
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('deletes the expired login and keeps the live one working', async () => {
    const expired = await registerUser(testApp);
    const live = await registerUser(testApp);
    const sessions = testApp.app.get(DataSource).getRepository(AuthSession);
    await sessions.update({ userId: expired.id }, { expiresAt: new Date(Date.now() - 60_000) });

    const deleted = await testApp.app.get(AuthSessionPruner).prune();

    expect(deleted).toBeGreaterThanOrEqual(1);
    expect(await sessions.countBy({ userId: expired.id })).toBe(0);
    expect(await sessions.countBy({ userId: live.id })).toBe(1);
    await request(testApp.server)
      .post('/api/auth/refresh')
      .send({ refreshToken: live.refreshToken })
      .expect(200);
    await request(testApp.server)
      .post('/api/auth/refresh')
      .send({ refreshToken: expired.refreshToken })
      .expect(401);
  });
});
