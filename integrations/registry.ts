/**
 * Every integration, as cheap metadata. The hooks read this list at start-up; an integration's patch code
 * is loaded only when its module is required. To add an integration, add its folder with a `hooks.ts` and
 * list it here.
 */
import type { GlobalHook, ModuleHook } from '../lib/kit';
import { hooks as http } from './http/hooks';
import { globalHooks as fetch } from './fetch/hooks';
import { hooks as express } from './express/hooks';
import { hooks as pg } from './pg/hooks';
import { hooks as mysql } from './mysql/hooks';
import { hooks as redis } from './redis/hooks';
import { hooks as undici } from './undici/hooks';
import { hooks as awsSdk } from './aws-sdk/hooks';
import { hooks as prisma } from './prisma/hooks';
import { hooks as logs } from './logs/hooks';
import { hooks as memcached } from './memcached/hooks';
import { hooks as graphql } from './graphql/hooks';
import { hooks as grpc } from './grpc/hooks';
import { hooks as amqplib } from './amqplib/hooks';
import { hooks as nats } from './nats/hooks';
import { hooks as mqtt } from './mqtt/hooks';
import { hooks as bullmq } from './bullmq/hooks';
import { hooks as kafkajs } from './kafkajs/hooks';
import { hooks as fastify } from './fastify/hooks';
import { hooks as koa } from './koa/hooks';
import { hooks as hono } from './hono/hooks';
import { hooks as nest } from './nest/hooks';

/** Module hooks, in no particular order. */
export const moduleHooks: readonly ModuleHook[] = [
  ...http, ...express, ...pg, ...mysql, ...redis, ...undici, ...awsSdk, ...prisma, ...logs, ...memcached,
  ...graphql, ...grpc, ...amqplib, ...nats, ...mqtt, ...bullmq, ...kafkajs,
  ...fastify, ...koa, ...hono, ...nest,
];

/** Hooks enabled when the tracer starts. */
export const globalHooks: readonly GlobalHook[] = [...fetch];

/** Each integration's own variables (for `--info`). */
export const integrationVariables: ReadonlyMap<string, readonly string[]> = new Map(
  [...new Set(moduleHooks.map((h) => h.integration))].map((name) => [
    name,
    [...new Set(moduleHooks.filter((h) => h.integration === name).flatMap((h) => h.variables ?? []))],
  ]),
);

/** Names of all integrations (for `--info` and config validation), the OpenTelemetry adapter's included. */
export const integrationNames: readonly string[] = [
  ...new Set([...moduleHooks.map((h) => h.integration), ...globalHooks.map((h) => h.integration), 'opentelemetry']),
];
