import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { riskyKeysIn } from '../../src/engine/configTrust';
import {
  RISKY_SETTINGS, settingsToEngineConfig, withoutWorkspaceValues, workspaceRiskySettings, type SettingInspection,
} from '../../src/extension/settings';

const reader = (o: Record<string, unknown>) => (k: string) => o[k];
const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '../..', 'package.json'), 'utf8'));

describe('hyperion.distributed.* and the stored Redis password → EngineConfig.distributed', () => {
  it('maps the URL, remote and checks, and puts the stored password into the URL', () => {
    const r = settingsToEngineConfig(reader({ 'distributed.redisUrl': 'redis://redis.example:6379', 'distributed.remote': 'shared', 'distributed.checks': true }), { redisPassword: 's3cret' });
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.config.distributed, { redisUrl: 'redis://:s3cret@redis.example:6379', remote: 'shared', checks: true });
    assert.deepEqual(r.workers, {}, 'configured, without a problem');
  });

  it('keeps an ACL user and TLS, and encodes a password with URL characters so it reads back unchanged', () => {
    const password = 'p@ss:w/rd #%?&';
    const { config } = settingsToEngineConfig(reader({ 'distributed.redisUrl': 'rediss://hyperion@10.0.0.5:6380' }), { redisPassword: password });
    const u = new URL(config.distributed!.redisUrl!);
    assert.equal(u.protocol, 'rediss:');
    assert.equal(u.username, 'hyperion');
    assert.equal(decodeURIComponent(u.password), password);
    assert.equal(u.host, '10.0.0.5:6380');
    assert.equal(config.distributed!.remote, 'origin', 'the default remote');
    assert.equal(config.distributed!.checks, false);
  });

  it('uses the URL as it is when no password is stored (Redis then says if it needs one)', () => {
    const { config, problems } = settingsToEngineConfig(reader({ 'distributed.redisUrl': ' redis://127.0.0.1:6379 ' }));
    assert.deepEqual(problems, []);
    assert.equal(config.distributed!.redisUrl, 'redis://127.0.0.1:6379');
  });

  it('leaves distributed mode off when no URL is set, whatever else is', () => {
    for (const o of [{}, { 'distributed.redisUrl': '' }, { 'distributed.redisUrl': '   ', 'distributed.checks': true, 'distributed.remote': 'x' }]) {
      const r = settingsToEngineConfig(reader(o), { redisPassword: 's3cret' });
      assert.equal(r.config.distributed, undefined, JSON.stringify(o));
      assert.equal(r.workers, undefined, 'the Workers view stays hidden');
      assert.deepEqual(r.problems, []);
    }
  });

  it('refuses a URL with a password in it, without repeating the password, and runs tasks here', () => {
    for (const url of ['redis://:hunter2@redis.example:6379', 'redis://ops:hunter2@redis.example:6379']) {
      const r = settingsToEngineConfig(reader({ 'distributed.redisUrl': url }), { redisPassword: 'other' });
      assert.equal(r.config.distributed, undefined, url);
      assert.equal(r.problems.length, 1);
      assert.match(r.problems[0], /^hyperion\.distributed\.redisUrl contains a password: remove it from the setting and store it with "Hyperion: Set Redis Password"/);
      assert.equal(r.workers?.problem, r.problems[0], 'the Workers view shows the sentence');
      assert.doesNotMatch(JSON.stringify(r), /hunter2/);
    }
  });

  it('refuses a URL that is not a Redis URL, with a sentence', () => {
    const bad = settingsToEngineConfig(reader({ 'distributed.redisUrl': 'not a url' }));
    assert.match(bad.problems[0], /^hyperion\.distributed\.redisUrl is not a URL: use redis:\/\/HOST:PORT/);
    const http = settingsToEngineConfig(reader({ 'distributed.redisUrl': 'http://redis.example:6379' }));
    assert.match(http.problems[0], /must be redis:\/\/HOST:PORT or rediss:\/\/HOST:PORT \(TLS\), not http:\/\/…/);
    assert.equal(http.config.distributed, undefined);
    assert.ok(http.workers?.problem);
  });
});

describe('distributed settings from the workspace need the user\'s confirmation', () => {
  const layers: Record<string, SettingInspection> = {
    'distributed.redisUrl': { globalValue: 'redis://mine.example:6379', workspaceFolderValue: 'redis://attacker.example:6379' },
    'distributed.remote': { workspaceValue: 'exfil' },
    'distributed.checks': { workspaceFolderValue: true },
  };
  const inspect = (k: string) => layers[k];
  const read = (k: string) => layers[k]?.workspaceFolderValue ?? layers[k]?.workspaceValue ?? layers[k]?.globalValue;

  it('lists them as risky workspace values, and without confirmation the engine sees only the user\'s', () => {
    assert.deepEqual(workspaceRiskySettings(inspect), {
      'hyperion.distributed.redisUrl': 'redis://attacker.example:6379',
      'hyperion.distributed.remote': 'exfil',
      'hyperion.distributed.checks': true,
    });
    const unconfirmed = settingsToEngineConfig(withoutWorkspaceValues(read, inspect), { redisPassword: 'pw' }).config;
    assert.deepEqual(unconfirmed.distributed, { redisUrl: 'redis://:pw@mine.example:6379', remote: 'origin', checks: false });
    const confirmed = settingsToEngineConfig(read, { redisPassword: 'pw' }).config;
    assert.deepEqual(confirmed.distributed, { redisUrl: 'redis://:pw@attacker.example:6379', remote: 'exfil', checks: true }, 'once confirmed, the workspace values apply');
    const none = settingsToEngineConfig(withoutWorkspaceValues(read, (k) => (k === 'distributed.redisUrl' ? { workspaceValue: 'redis://attacker.example:6379' } : layers[k])));
    assert.equal(none.config.distributed, undefined, 'a workspace URL alone, unconfirmed, sends nothing anywhere');
  });

  it('restricts them in untrusted workspaces, as the engine treats them in a repository config', () => {
    const restricted: string[] = pkg.capabilities.untrustedWorkspaces.restrictedConfigurations;
    for (const k of ['distributed.redisUrl', 'distributed.remote', 'distributed.checks']) {
      assert.ok((RISKY_SETTINGS as readonly string[]).includes(k), k);
      assert.ok(restricted.includes(`hyperion.${k}`), k);
    }
    assert.deepEqual(riskyKeysIn({ distributed: { redisUrl: 'redis://x:1', remote: 'o' } }), ['distributed.redisUrl', 'distributed.remote']);
  });

  it('declares the settings, with a URL pattern that refuses a password and no setting for the password itself', () => {
    const props = pkg.contributes.configuration.properties;
    assert.equal(props['hyperion.distributed.redisUrl'].type, 'string');
    assert.equal(props['hyperion.distributed.remote'].default, 'origin');
    assert.equal(props['hyperion.distributed.checks'].default, false);
    const pattern = new RegExp(props['hyperion.distributed.redisUrl'].pattern);
    for (const ok of ['', 'redis://127.0.0.1:6379', 'rediss://redis.example:6380/0', 'redis://hyperion@redis.example:6379']) assert.ok(pattern.test(ok), ok);
    for (const bad of ['redis://:pw@host:6379', 'redis://user:pw@host:6379', 'http://host:6379']) assert.ok(!pattern.test(bad), bad);
    assert.ok(!Object.keys(props).some((k) => /password/i.test(k)), 'the password lives in SecretStorage');
  });
});
