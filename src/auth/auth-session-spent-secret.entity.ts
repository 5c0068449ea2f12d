import { Column, Entity, Index, ManyToOne, PrimaryColumn } from 'typeorm';
import { AuthSession } from './auth-session.entity';

/**
 * A refresh secret that was traded in (its SHA-256). Presenting one again is reuse and ends the
 * login; a secret that was never issued is only a wrong guess and ends nothing.
 */
@Entity('auth_session_spent_secrets')
export class AuthSessionSpentSecret {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  secretHash: string;

  @Index()
  @Column({ type: 'uuid' })
  sessionId: string;

  @ManyToOne(() => AuthSession, { onDelete: 'CASCADE' })
  session?: AuthSession;
}
