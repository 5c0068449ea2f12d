import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import request from 'supertest';
import { registerUser } from '@test/support/auth-helpers';
import { parsePrometheusText, sumOf } from '@test/support/prometheus-text';
import { exposes, metricNamesIn } from '@test/support/promql-metric-names';
import { createRoom, postMessage } from '@test/support/room-helpers';
import { startTestApp, TestApp } from '@test/support/test-app';
import { requireTestRedisUrl } from '@test/support/test-redis';
import { WsTestClient } from '@test/support/ws-test-client';

const ROOT = join(__dirname, '..', '..');
const DASHBOARD = join(ROOT, 'deploy', 'grafana', 'switchboard-dashboard.json');
const ALERTS = join(ROOT, 'deploy', 'prometheus', 'switchboard-alerts.yml');
const README = join(ROOT, 'README.md');
const DATASOURCE_INPUT = '${DS_PROMETHEUS}';

interface DashboardTarget {
  expr: string;
  refId: string;
  datasource?: { uid?: string };
}

interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: DashboardTarget[];
}

interface Dashboard {
  __inputs: { name: string; type: string; pluginId: string }[];
  schemaVersion: number;
  panels: DashboardPanel[];
  templating: { list: { name: string; datasource?: { uid?: string } }[] };
}

interface AlertRule {
  alert: string;
  expr: string;
  annotations: { summary?: string; runbook_url?: string };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const alertRules = (
  load(readFileSync(ALERTS, 'utf8')) as { groups: { rules: AlertRule[] }[] }
).groups.flatMap((group) => group.rules);
const panels = dashboard.panels.filter((panel) => panel.type !== 'row');

/** Every expression shipped in deploy/, named by where it is. */
const expressions: [where: string, expr: string][] = [
  ...panels.flatMap((panel) =>
    (panel.targets ?? []).map((target): [string, string] => [
      `panel "${panel.title}" ${target.refId}`,
      target.expr,
    ]),
  ),
  ...alertRules.map((rule): [string, string] => [`alert ${rule.alert}`, rule.expr]),
];

describe('the Grafana dashboard and the Prometheus alerts (services)', () => {
  describe('their structure', () => {
    it('is an importable dashboard: a Prometheus input that every panel and query uses, unique panel ids', () => {
      expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
      expect(dashboard.__inputs).toContainEqual(
        expect.objectContaining({
          name: 'DS_PROMETHEUS',
          type: 'datasource',
          pluginId: 'prometheus',
        }),
      );
      const ids = dashboard.panels.map((panel) => panel.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(panels.length).toBeGreaterThanOrEqual(15);
      for (const panel of panels) {
        expect([panel.title, panel.datasource?.uid]).toEqual([panel.title, DATASOURCE_INPUT]);
        expect([panel.title, (panel.targets ?? []).length > 0]).toEqual([panel.title, true]);
        for (const target of panel.targets ?? []) {
          expect([panel.title, target.datasource?.uid]).toEqual([panel.title, DATASOURCE_INPUT]);
          // Every query follows the instance picker.
          expect([panel.title, target.expr]).toEqual([
            panel.title,
            expect.stringContaining('instance=~"$instance"'),
          ]);
        }
      }
      const instance = dashboard.templating.list.find((variable) => variable.name === 'instance');
      expect(instance?.datasource?.uid).toBe(DATASOURCE_INPUT);
    });

    it('gives every alert a summary and a runbook line in the README under its own anchor', () => {
      const readme = readFileSync(README, 'utf8');
      expect(alertRules.length).toBeGreaterThanOrEqual(9);
      for (const rule of alertRules) {
        const anchor = `runbook-${rule.alert.toLowerCase()}`;
        expect([rule.alert, rule.annotations.summary]).toEqual([rule.alert, expect.any(String)]);
        expect([rule.alert, rule.annotations.runbook_url]).toEqual([
          rule.alert,
          `README.md#${anchor}`,
        ]);
        expect([rule.alert, readme.includes(`<a id="${anchor}"></a>`)]).toEqual([rule.alert, true]);
      }
    });

    it('reads metric names out of PromQL, not functions, keywords, labels or durations', () => {
      expect(
        metricNamesIn(
          'histogram_quantile(0.99, sum by (instance, le) (rate(a_seconds_bucket{job="x", le!="+Inf"}[5m]))) > 1',
        ),
      ).toEqual(['a_seconds_bucket']);
      expect(
        metricNamesIn(
          'sum(rate(hits_total{instance=~"$instance"}[$__rate_interval])) / (sum(rate(misses_total[1m])) + on() group_left up)',
        ),
      ).toEqual(['hits_total', 'misses_total']);
      expect(metricNamesIn('up{job="switchboard"} == 0 and bool 1e3')).toEqual([]);
    });
  });

  describe('against a running instance with Redis', () => {
    let app: TestApp;
    let metricsText: string;

    beforeAll(async () => {
      requireTestRedisUrl();
      app = await startTestApp();
      // A little of everything the panels show: a post, a WebSocket join and message, reads.
      const alice = await registerUser(app);
      const room = await createRoom(app, alice);
      const socket = await WsTestClient.connect(app.url, { token: alice.accessToken });
      try {
        await socket.request('join', { roomId: room.id }, 'joined');
        await postMessage(app, alice, room.id);
        await socket.next('message');
        await request(app.server)
          .get(`/api/rooms/${room.id}/messages`)
          .set({
            Authorization: `Bearer ${alice.accessToken}`,
          });
        metricsText = (await request(app.server).get('/metrics').expect(200)).text;
      } finally {
        await socket.closeAndWait();
      }
    });

    afterAll(async () => {
      await app?.close();
    });

    it('exposes every metric the dashboard and the alerts query', () => {
      const sampleNames = new Set(parsePrometheusText(metricsText).map((sample) => sample.name));
      const queried = new Set(expressions.flatMap(([, expr]) => metricNamesIn(expr)));
      expect(queried.size).toBeGreaterThanOrEqual(20);
      // The check can fail: a name that is not there, and a histogram's series that are.
      expect(exposes(metricsText, sampleNames, 'switchboard_no_such_metric_total')).toBe(false);
      expect(exposes(metricsText, sampleNames, 'switchboard_commit_duration_seconds')).toBe(false);
      expect(exposes(metricsText, sampleNames, 'switchboard_commit_duration_seconds_bucket')).toBe(
        true,
      );
      const missing = expressions.flatMap(([where, expr]) =>
        metricNamesIn(expr)
          .filter((name) => !exposes(metricsText, sampleNames, name))
          .map((name) => `${name} (${where})`),
      );
      expect(missing).toEqual([]);
    });

    it('reports Redis up with its breaker closed, and the instance ready', () => {
      const samples = parsePrometheusText(metricsText);
      expect(sumOf(samples, 'switchboard_dependency_up', { dependency: 'redis' })).toBe(1);
      expect(sumOf(samples, 'switchboard_dependency_up', { dependency: 'database' })).toBe(1);
      expect(sumOf(samples, 'switchboard_redis_breaker_open')).toBe(0);
      expect(sumOf(samples, 'switchboard_instance_state', { state: 'ready' })).toBe(1);
      expect(sumOf(samples, 'switchboard_messages_stored_total', { kind: 'message' })).toBe(1);
      // On PostgreSQL the appends' group commit is observed too.
      expect(sumOf(samples, 'switchboard_commit_duration_seconds_count')).toBeGreaterThan(0);
      expect(sumOf(samples, 'switchboard_group_commit_batch_size_sum')).toBeGreaterThan(0);
    });
  });
});
