/**
 * `redis.raw_command`: what the Redis integrations show of a command. Datadog's format (upper-case name,
 * arguments cut at 100 characters, the line at 1000, non-text arguments as `?`), and credentials never
 * shown: AUTH has no arguments at all, and HELLO/MIGRATE/ACL SETUSER hide theirs.
 */
import * as assert from 'node:assert/strict';
import { formatRawCommand, MAX_ARG_LENGTH, MAX_COMMAND_LENGTH } from '../integrations/redis/raw-command';

describe('redis: redis.raw_command', () => {
  const cases: Array<[string, string, unknown[] | undefined, string]> = [
    ['name upper-cased, arguments joined', 'set', ['user:1', 'Alice'], 'SET user:1 Alice'],
    ['no arguments', 'ping', [], 'PING'],
    ['arguments unknown', 'info', undefined, 'INFO'],
    ['numbers and bigints shown', 'expire', ['k', 60, 10n], 'EXPIRE k 60 10'],
    ['Buffers, objects, null and undefined are ?', 'set', ['k', Buffer.from('secret bytes'), { a: 1 }, null, undefined], 'SET k ? ? ? ?'],
    ['callbacks skipped', 'get', ['k', (): void => undefined], 'GET k'],
    ['AUTH shows no argument', 'auth', ['hunter2'], 'AUTH'],
    ['AUTH with user shows no argument', 'AUTH', ['alice', 'hunter2'], 'AUTH'],
    ['HELLO hides the user and password after AUTH', 'hello', ['3', 'AUTH', 'alice', 'hunter2', 'SETNAME', 'app'], 'HELLO 3 AUTH ? ? SETNAME app'],
    ['HELLO keyword in any case', 'HELLO', ['3', 'auth', 'alice', 'hunter2'], 'HELLO 3 auth ? ?'],
    ['MIGRATE hides the AUTH password', 'migrate', ['h', 6379, '', 0, 5000, 'AUTH', 'hunter2', 'KEYS', 'a'], 'MIGRATE h 6379  0 5000 AUTH ? KEYS a'],
    ['MIGRATE hides AUTH2 user and password', 'migrate', ['h', 6379, 'k', 0, 5000, 'AUTH2', 'alice', 'hunter2'], 'MIGRATE h 6379 k 0 5000 AUTH2 ? ?'],
    ['ACL SETUSER hides password rules', 'acl', ['SETUSER', 'alice', 'on', '>hunter2', '#abc123', '<old', '!def', '~keys:*'], 'ACL SETUSER alice on ? ? ? ? ~keys:*'],
    ['ACL other subcommands untouched', 'acl', ['WHOAMI'], 'ACL WHOAMI'],
    ['a user named like a rule is still shown', 'acl', ['SETUSER', '>odd', 'on'], 'ACL SETUSER >odd on'],
  ];
  for (const [what, name, args, expected] of cases) {
    it(`${what}: ${expected}`, () => {
      assert.equal(formatRawCommand(name, args), expected);
    });
  }

  it('reads the arguments from an offset, so the name can stay first in the same array', () => {
    assert.equal(formatRawCommand('SET', ['SET', 'k', 'v'], 1), 'SET k v');
    assert.equal(formatRawCommand('ACL', ['ACL', 'SETUSER', 'alice', '>pw'], 1), 'ACL SETUSER alice ?');
    assert.equal(formatRawCommand('AUTH', ['AUTH', 'pw'], 1), 'AUTH');
  });

  it(`cuts each argument at ${MAX_ARG_LENGTH} characters, the last three being ...`, () => {
    const long = 'v'.repeat(5000);
    const exact = 'e'.repeat(MAX_ARG_LENGTH);
    assert.equal(formatRawCommand('set', ['k', long]), `SET k ${'v'.repeat(MAX_ARG_LENGTH - 3)}...`);
    assert.equal(formatRawCommand('set', ['k', exact]), `SET k ${exact}`, 'an argument of exactly the limit is whole');
  });

  it(`cuts the whole line at ${MAX_COMMAND_LENGTH} characters, the last three being ...`, () => {
    const keys = Array.from({ length: 300 }, (_, i) => `key:${i}`);
    const out = formatRawCommand('del', keys);
    const full = ['DEL', ...keys].join(' ');
    assert.equal(out.length, MAX_COMMAND_LENGTH);
    assert.equal(out, full.slice(0, MAX_COMMAND_LENGTH - 3) + '...');
  });

  it('never shows more than the limit, however many arguments (bounded work per command)', () => {
    const many = new Array<string>(1_000_000).fill('x');
    assert.equal(formatRawCommand('mset', many).length, MAX_COMMAND_LENGTH);
  });
});
