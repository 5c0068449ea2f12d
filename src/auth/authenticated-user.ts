/** Who made a request, as the access token says. */
export interface AuthenticatedUser {
  id: string;
  /** The login (refresh-token chain) the access token was issued for. */
  sessionId: string;
  /** When the access token stops being valid. */
  expiresAt: Date;
}
