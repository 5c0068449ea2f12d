import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { Public } from '@app/auth/authenticated.decorator';
import { liveness } from './liveness';
import { Readiness, ReadinessResult } from './readiness';

const DEPENDENCIES = ['database', 'bus', 'cache'];

const LIVENESS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['status'],
  properties: { status: { type: 'string', enum: ['ok'] } },
};
/** Terminus's result, by dependency, plus the ones running degraded. */
const DEPENDENCY_MAP = {
  type: 'object',
  additionalProperties: {
    type: 'object',
    properties: { status: { type: 'string', enum: ['up', 'down'] } },
  },
};
const READINESS_SCHEMA = {
  type: 'object',
  required: ['status', 'details', 'degraded'],
  properties: {
    status: { type: 'string', enum: ['ok', 'error', 'shutting_down'] },
    info: DEPENDENCY_MAP,
    error: DEPENDENCY_MAP,
    details: DEPENDENCY_MAP,
    degraded: {
      type: 'array',
      maxItems: DEPENDENCIES.length,
      items: { type: 'string', enum: DEPENDENCIES },
    },
  },
};

/** Outside `/api`: load balancers and orchestrators probe these. */
@Controller('health')
// Probes for load balancers and orchestrators: documented, but left out of the generated client.
@ApiTags('health')
@Public()
@SkipThrottle()
export class HealthController {
  constructor(private readonly readiness: Readiness) {}

  /** Liveness: the process answers. */
  @Get()
  @ApiOkResponse({ description: 'The process answers', schema: LIVENESS_SCHEMA })
  checkLiveness(): { status: 'ok' } {
    // GET is answered before routing (LivenessBeforeRouting); this serves HEAD and the document.
    return liveness();
  }

  /**
   * Readiness: the database answers (503 naming it otherwise, so that a load balancer steers
   * away; a pool busy with application queries is up, `busy: true`). With Redis, the bus and the
   * cache are reported too, and listed in `degraded` while Redis is away: the instance still
   * serves every request from the database, so it stays ready.
   * From SIGTERM on: 503 `shutting_down`, while the other routes still serve (the drain delay).
   */
  @Get('ready')
  @ApiOkResponse({ description: 'Ready', schema: READINESS_SCHEMA })
  @ApiServiceUnavailableResponse({
    description:
      'Not ready (the database is down), draining for a shutdown (`shutting_down`), or shedding load (with Retry-After)',
    schema: { oneOf: [READINESS_SCHEMA, { $ref: '#/components/schemas/ErrorResponse' }] },
  })
  async checkReadiness(@Res({ passthrough: true }) reply: FastifyReply): Promise<ReadinessResult> {
    const { httpStatus, result } = await this.readiness.evaluate();
    reply.status(httpStatus);
    return result;
  }
}
