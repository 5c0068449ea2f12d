import { Injectable } from '@nestjs/common';
import { AppError } from '@app/common/errors/app-error';
import { User } from './user.entity';
import { NewUser, UsersRepository } from './users.repository';

@Injectable()
export class UsersService {
  constructor(private readonly users: UsersRepository) {}

  /** The key that makes "Alice" and "alice" one name. */
  static usernameKey(username: string): string {
    return username.toLowerCase();
  }

  async getUser(id: string): Promise<User> {
    const user = await this.users.findById(id);
    if (!user) {
      throw new AppError('not_found', 'User not found');
    }
    return user;
  }

  /** The users of `ids` that exist, by id. */
  async getUsersByIds(ids: string[]): Promise<Map<string, User>> {
    const users = ids.length > 0 ? await this.users.findByIds([...new Set(ids)]) : [];
    return new Map(users.map((user) => [user.id, user]));
  }

  findByUsername(username: string): Promise<User | null> {
    return this.users.findByUsernameKey(UsersService.usernameKey(username));
  }

  async createUser(user: Omit<NewUser, 'usernameKey'>): Promise<User> {
    const created = await this.users.insertUnlessTaken({
      ...user,
      usernameKey: UsersService.usernameKey(user.username),
    });
    if (!created) {
      throw new AppError('username_taken', 'That username is taken');
    }
    return created;
  }
}
