# One image recipe, one target per service:
#   docker build --target admin-api -t tollgate-admin .
#   docker build --target team-gateway -t tollgate-gateway .
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/package.json ./package.json
USER node

FROM runtime AS admin-api
COPY --from=build /app/dist/apps/admin-api ./dist/apps/admin-api
ENV PORT=8004
EXPOSE 8004
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD ["node", "dist/apps/admin-api/main.js"]

FROM runtime AS team-gateway
COPY --from=build /app/dist/apps/team-gateway ./dist/apps/team-gateway
ENV PORT=8003
EXPOSE 8003
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD ["node", "dist/apps/team-gateway/main.js"]

# Default (last) stage: both bundles; the start command picks the service. Railway builds this
# stage (it has no Dockerfile target setting) and each Railway service sets its own startCommand
# in deploy/railway/<app>.json.
FROM runtime AS all
COPY --from=build /app/dist ./dist
ENV PORT=8080
CMD ["node", "dist/apps/admin-api/main.js"]
