'use strict';
// CommonJS entry of the benchmark app (see routes.cjs): express, fastify, pg and http loaded with require().
const express = require('express');
const { Pool } = require('pg');
const http = require('node:http');
const Fastify = require('fastify');
const { serve } = require('./routes.cjs');

serve(express, Pool, http, Fastify);
