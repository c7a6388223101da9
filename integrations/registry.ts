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
import { hooks as fastify } from './fastify/hooks';
import { hooks as koa } from './koa/hooks';
import { hooks as hono } from './hono/hooks';
import { hooks as nest } from './nest/hooks';

/** Module hooks, in no particular order. */
export const moduleHooks: readonly ModuleHook[] = [...http, ...express, ...pg, ...mysql, ...redis, ...undici, ...fastify, ...koa, ...hono, ...nest];

/** Hooks enabled when the tracer starts. */
export const globalHooks: readonly GlobalHook[] = [...fetch];

/** Names of all integrations (for `--info` and config validation), the OpenTelemetry adapter's included. */
export const integrationNames: readonly string[] = [
  ...new Set([...moduleHooks.map((h) => h.integration), ...globalHooks.map((h) => h.integration), 'opentelemetry']),
];
