# Lotse: one image for every process (`start`, `api`, `worker`, `config`).
#   docker build -t lotse .
#   docker run --rm lotse config default > topology.json
# docker-compose.yml runs Redis, the API and scalable workers from it.

# --- build: compile TypeScript, then drop the dev dependencies -------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# --- runtime ---------------------------------------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/bin ./bin
# The embedded-Redis fallback of `start` keeps its files under LOTSE_DATA_DIR
# (default .lotse, relative to /app); the node user must be able to write it.
RUN mkdir -p /app/.lotse && chown node:node /app/.lotse
USER node
EXPOSE 3000
# bin/lotse.js runs dist/ when it exists, as it does here.
ENTRYPOINT ["node", "bin/lotse.js"]
CMD ["start"]
