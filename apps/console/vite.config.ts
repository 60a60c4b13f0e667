import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const at = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// The console is served by admin-api at /ui (apps/admin-api/src/console): built next to its main.js.
export default defineConfig({
  root: at('.'),
  base: '/ui/',
  plugins: [react()],
  resolve: { alias: { '@app/client': at('../../libs/client/src/index.ts') } },
  build: {
    outDir: at('../../dist/apps/admin-api/ui'),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
  },
  logLevel: 'warn',
});
