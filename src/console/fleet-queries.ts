import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { BusMessage, MessageBus, Unsubscribe } from '@libs/bus';
import { ConsoleOperators } from './console-operators';
import { FleetFigures } from './fleet-figures';

const QUERY_CHANNEL = 'console:query';
const answerChannel = (instanceId: string) => `console:answer:${instanceId}`;
/** How long an operator's question waits for the fleet's answers. */
export const FLEET_QUERY_TIMEOUT_MS = 1_000;

/** A question each instance answers from what it holds (its connections, its rooms). */
export type FleetQueryHandler = (payload: unknown) => unknown;

export interface FleetAnswers<T> {
  /** This instance's answer first, then the others' as they came. */
  answers: { instanceId: string; answer: T }[];
  /** The instances that were expected to answer (those not stale in the fleet view). */
  asked: number;
}

interface Query {
  queryId: string;
  from: string;
  kind: string;
  payload: unknown;
}

interface Answer {
  queryId: string;
  instanceId: string;
  answer: unknown;
}

interface Pending {
  answers: { instanceId: string; answer: unknown }[];
  expected: number;
  done: () => void;
}

/**
 * Asks every instance of the fleet the same question over the bus and gathers their answers, for
 * what only each instance knows: who is connected to it. This instance answers itself directly
 * (so it answers with Redis away); the others answer on this instance's own channel, and the
 * question waits at most FLEET_QUERY_TIMEOUT_MS for the last of them.
 */
@Injectable()
export class FleetQueries implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(FleetQueries.name);
  private readonly handlers = new Map<string, FleetQueryHandler>();
  private readonly pending = new Map<string, Pending>();
  private readonly unsubscribes: Unsubscribe[] = [];

  constructor(
    private readonly bus: MessageBus,
    private readonly fleet: FleetFigures,
    private readonly operators: ConsoleOperators,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.operators.enabled) {
      return;
    }
    const self = this.fleet.identity.instanceId;
    this.unsubscribes.push(
      await this.bus.subscribe(QUERY_CHANNEL, (message) => this.answerQuery(message)),
      await this.bus.subscribe(answerChannel(self), (message) => this.collect(message)),
    );
  }

  onModuleDestroy(): void {
    this.unsubscribes.forEach((unsubscribe) => unsubscribe());
    this.pending.forEach((pending) => pending.done());
  }

  /** How this instance answers `kind`; a handler throws for a payload it does not accept. */
  handle(kind: string, handler: FleetQueryHandler): void {
    this.handlers.set(kind, handler);
  }

  async ask<T>(kind: string, payload: unknown): Promise<FleetAnswers<T>> {
    const self = this.fleet.identity.instanceId;
    const own = { instanceId: self, answer: this.handlerOf(kind)(payload) as T };
    const others = this.fleet.liveInstances().filter((instanceId) => instanceId !== self);
    if (others.length === 0) {
      return { answers: [own], asked: 1 };
    }
    const queryId = randomUUID();
    const answers: { instanceId: string; answer: unknown }[] = [];
    const settled = new Promise<void>((resolve) => {
      const timer = setTimeout(() => done(), FLEET_QUERY_TIMEOUT_MS);
      const done = () => {
        clearTimeout(timer);
        this.pending.delete(queryId);
        resolve();
      };
      this.pending.set(queryId, { answers, expected: others.length, done });
    });
    try {
      await this.bus.publish(QUERY_CHANNEL, { queryId, from: self, kind, payload } satisfies Query);
    } catch (error) {
      this.logger.warn(`A console query reached only this instance: ${(error as Error).message}`);
      this.pending.get(queryId)?.done();
    }
    await settled;
    return {
      answers: [own, ...(answers as { instanceId: string; answer: T }[])],
      asked: others.length + 1,
    };
  }

  private handlerOf(kind: string): FleetQueryHandler {
    const handler = this.handlers.get(kind);
    if (!handler) {
      throw new Error(`No console query "${kind}"`);
    }
    return handler;
  }

  private async answerQuery(message: BusMessage): Promise<void> {
    const query = message.json<Query>();
    const self = this.fleet.identity.instanceId;
    const handler = this.handlers.get(query?.kind);
    if (query?.from === self || typeof query?.from !== 'string' || !handler) {
      return;
    }
    const answer: Answer = {
      queryId: query.queryId,
      instanceId: self,
      answer: handler(query.payload),
    };
    await this.bus.publish(answerChannel(query.from), answer);
  }

  private collect(message: BusMessage): void {
    const answer = message.json<Answer>();
    const pending = this.pending.get(answer?.queryId);
    if (!pending || typeof answer.instanceId !== 'string') {
      return;
    }
    pending.answers.push({ instanceId: answer.instanceId, answer: answer.answer });
    if (pending.answers.length >= pending.expected) {
      pending.done();
    }
  }
}
