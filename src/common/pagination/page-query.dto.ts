import { SYNC_DEFAULT_LIMIT, SYNC_MAX_LIMIT } from '@libs/protocol';
import { ApiPropertyOptional, ApiPropertyOptions } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';

// A WebSocket `sync` is a page of history: one pair of limits for both.
export const DEFAULT_PAGE_LIMIT = SYNC_DEFAULT_LIMIT;
export const MAX_PAGE_LIMIT = SYNC_MAX_LIMIT;
const CURSOR_MAX_LENGTH = 512;

/** A page's `nextCursor`: never longer than what `cursor` accepts. */
export const NEXT_CURSOR_SCHEMA: ApiPropertyOptions = {
  type: String,
  nullable: true,
  minLength: 1,
  maxLength: CURSOR_MAX_LENGTH,
};

/** `?limit=&cursor=` of every paginated list. */
export class PageQueryDto {
  /** How many items to return: 1 to 200, 50 when left out. */
  @ApiPropertyOptional({
    type: 'integer',
    format: 'int32',
    default: DEFAULT_PAGE_LIMIT,
    minimum: 1,
    maximum: MAX_PAGE_LIMIT,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_LIMIT)
  limit: number = DEFAULT_PAGE_LIMIT;

  /** The `nextCursor` of the previous page, as it was given. */
  @IsOptional()
  @IsString()
  @Length(1, CURSOR_MAX_LENGTH)
  cursor?: string;
}
