import { retryTransient, TRANSIENT_MAX_ATTEMPTS } from './transient-retry';

/** An error as the pg driver raises it, with a SQLSTATE. */
const postgresError = (code: string) => Object.assign(new Error(`SQLSTATE ${code}`), { code });

describe(retryTransient.name, () => {
  /** A write that fails with `errors`, one per attempt, then answers 'done'. */
  const failingWith = (...errors: Error[]) => {
    let attempts = 0;
    const write = () => {
      const error = errors[attempts++];
      return error ? Promise.reject(error) : Promise.resolve('done');
    };
    return { write, attempts: () => attempts };
  };

  it.each(['40P01', '40001'])('runs the write again after %s', async (code) => {
    const { write, attempts } = failingWith(postgresError(code), postgresError(code));

    await expect(retryTransient(write)).resolves.toBe('done');
    expect(attempts()).toBe(3);
  });

  it('gives up after a bounded number of attempts, with the last error', async () => {
    const deadlock = postgresError('40P01');
    const { write, attempts } = failingWith(
      ...Array.from({ length: TRANSIENT_MAX_ATTEMPTS + 1 }, () => deadlock),
    );

    await expect(retryTransient(write)).rejects.toBe(deadlock);
    expect(attempts()).toBe(TRANSIENT_MAX_ATTEMPTS);
  });

  it('does not run again a write that failed for another reason', async () => {
    const duplicate = postgresError('23505');
    const { write, attempts } = failingWith(duplicate);

    await expect(retryTransient(write)).rejects.toBe(duplicate);
    expect(attempts()).toBe(1);
  });

  it('runs again what the caller also names retryable', async () => {
    const { write, attempts } = failingWith(postgresError('23503'));

    await expect(
      retryTransient(write, {
        alsoRetry: (error) => (error as { code?: string }).code === '23503',
      }),
    ).resolves.toBe('done');
    expect(attempts()).toBe(2);
  });
});
