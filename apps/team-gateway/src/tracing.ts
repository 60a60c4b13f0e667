import { startTracing } from '@app/tracing';

// main.ts imports this first: the SDK must patch node:http before Nest and Express load.
startTracing('tollgate-team-gateway');
