// Readable logs for `npm start` (scripts/dev.js): the services always write JSON lines (pino);
// in development dev.js passes each line through here. pino-pretty renders it as one line
// (time, level, service, context, message; a request as method, path, status and duration),
// and Nest's ~150 lines of module and route registration are left out unless LOG_LEVEL is
// debug or trace. Lines that are not JSON (a crash before the logger exists) pass unchanged.
'use strict';
const { prettyFactory } = require('pino-pretty');

/** Nest's boot chatter: one line per module and per route, and the start/started pair. */
const NOISE_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);
const NOISE_MESSAGES = new Set([
  'Starting Nest application...',
  'Nest application successfully started',
]);

const SERVICE_COLORS = { 'admin-api': '\x1b[36m', 'team-gateway': '\x1b[35m' };

/**
 * A function from one line of a service's output to the text to print (null: leave it out).
 * `colorize`: ANSI colours (a terminal); `verbose`: keep Nest's boot chatter.
 */
function devLogFormatter({ colorize = false, verbose = false } = {}) {
  const paint = (service) => {
    const name = String(service ?? '').padEnd(12);
    const color = colorize && SERVICE_COLORS[service];
    return color ? `${color}${name}\x1b[0m` : name;
  };
  const pretty = prettyFactory({
    colorize,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,service,context,req,res,responseTime',
    messageFormat: (log, messageKey) => {
      const where = log.context && log.context !== log.service ? `[${log.context}] ` : '';
      if (log.req && log.res) {
        const { method, url } = log.req;
        return `${paint(log.service)} ${method} ${url} → ${log.res.statusCode} (${log.responseTime} ms)`;
      }
      return `${paint(log.service)} ${where}${log[messageKey] ?? ''}`;
    },
  });
  return (line) => {
    if (!line.startsWith('{')) return line;
    let log;
    try {
      log = JSON.parse(line);
    } catch {
      return line;
    }
    if (!verbose && (NOISE_CONTEXTS.has(log.context) || NOISE_MESSAGES.has(log.msg))) return null;
    return pretty(log).replace(/\n$/, '');
  };
}

module.exports = { devLogFormatter };
