/** Query parameters whose values are secrets (`/ws?token=…` for browsers). */
const SECRET_PARAMETERS = /([?&](?:token|access_token|refresh_token)=)[^&#]*/gi;

/** The URL as it may be logged: secret query values replaced. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMETERS, '$1[redacted]');
}
