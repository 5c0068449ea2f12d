import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';

@Entity('users')
export class User {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** As the user typed it at registration. */
  @Column({ type: 'varchar', length: 32 })
  username: string;

  /** `username` lower-cased: "Alice" and "alice" are one name. Internal, never in a response. */
  @Column({ type: 'varchar', length: 32, unique: true })
  usernameKey: string;

  @Column({ type: 'varchar', length: 64 })
  displayName: string;

  @Column({ type: 'varchar', length: 255 })
  passwordHash: string;

  @CreateDateColumn()
  createdAt: Date;

  @UpdateDateColumn()
  updatedAt: Date;
}
