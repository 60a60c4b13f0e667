import { connect, Socket } from 'node:net';

export interface StalledClient {
  /** The status line and headers of the answer. */
  head: string;
  socket: Socket;
}

/**
 * A client on a raw socket that POSTs a streaming request, reads until the first SSE event has
 * arrived, then stops reading without closing its socket: the gateway's writes back up.
 */
export async function stalledClient(
  base: string,
  path: string,
  key: string,
  body: unknown,
): Promise<StalledClient> {
  const url = new URL(base);
  const socket = connect(Number(url.port), url.hostname);
  const payload = JSON.stringify(body);
  socket.write(
    [
      `POST ${path} HTTP/1.1`,
      `Host: ${url.host}`,
      `Authorization: Bearer ${key}`,
      'Content-Type: application/json',
      `Content-Length: ${Buffer.byteLength(payload)}`,
      '',
      payload,
    ].join('\r\n'),
  );
  let received = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (bytes: Buffer) => {
      received += bytes.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end < 0 || !received.slice(end).includes('data:')) return;
      socket.off('data', onData);
      socket.off('error', reject);
      socket.pause();
      resolve();
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('end', () => reject(new Error(`closed early: ${received.slice(0, 300)}`)));
  });
  return { head: received.slice(0, received.indexOf('\r\n\r\n')), socket };
}
