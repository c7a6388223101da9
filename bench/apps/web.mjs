// ESM entry of the benchmark app (see routes.cjs): express, fastify, pg and http loaded with import, so an --import
// tracer instruments them through its ESM hooks.
import express from 'express';
import pg from 'pg';
import http from 'node:http';
import Fastify from 'fastify';
import { createRequire } from 'node:module';

const { serve } = createRequire(import.meta.url)('./routes.cjs');
serve(express, pg.Pool, http, Fastify);
