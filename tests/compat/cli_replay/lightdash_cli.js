// The Lightdash CLI's request layer and checks, rebuilt from its source (packages/cli):
// the same HTTP client (node-fetch 2), the same headers, the same handling of every answer,
// the same config file, and the same CASL checks (@casl/ability) before creating projects
// and uploading content. Written from the facts of the team's reference notes, not copied.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const { URL } = require('url');
const fetch = require('node-fetch');
const yaml = require('js-yaml');
const { Ability, subject } = require('@casl/ability');

const CLI_VERSION = process.env.REPLAY_CLI_VERSION || '0.2000.0';

// -- what was sent, for the test to check ------------------------------------------------

const sent = [];
const warnings = [];
const debug = []; // what the CLI prints only with --verbose

function logged(url, init) {
    const where = new URL(url);
    sent.push({
        method: (init && init.method) || 'GET',
        path: where.pathname + where.search,
        headers: { ...((init && init.headers) || {}) },
        body: init && typeof init.body === 'string' ? init.body : undefined,
        gzipped: Boolean(init && init.body && typeof init.body !== 'string'),
    });
    return fetch(url, init);
}

class LightdashError extends Error {
    constructor(detail) {
        // The CLI reads error.{name, statusCode, message}: an error body without them is a bug.
        if (!detail || typeof detail.message !== 'string' || typeof detail.statusCode !== 'number' || !detail.name) {
            super(`Malformed error payload: ${JSON.stringify(detail)}`);
            this.name = 'MalformedError';
            return;
        }
        super(detail.message);
        this.name = detail.name;
        this.statusCode = detail.statusCode;
        this.data = detail.data;
    }
}
class AuthorizationError extends Error {}
class ForbiddenError extends Error {}

// -- config (config.ts) ---------------------------------------------------------------

const configDir = () => path.join(os.homedir(), '.config', 'lightdash');
const configFilePath = () => path.join(configDir(), 'config.yaml');

function readConfigFile() {
    try {
        return yaml.load(fs.readFileSync(configFilePath(), 'utf8')) || {};
    } catch (e) {
        return {};
    }
}

function writeConfigFile(config) {
    fs.mkdirSync(configDir(), { recursive: true, mode: 0o700 });
    fs.writeFileSync(configFilePath(), yaml.dump(config), { mode: 0o600 });
}

function getRawConfig() {
    const config = readConfigFile();
    if (!config.user || !config.user.anonymousUuid) {
        config.user = { ...(config.user || {}), anonymousUuid: require('crypto').randomUUID() };
        writeConfigFile(config);
    }
    return config;
}

function getConfig() {
    const config = getRawConfig();
    const context = { ...(config.context || {}) };
    if (process.env.LIGHTDASH_API_KEY) context.apiKey = process.env.LIGHTDASH_API_KEY;
    if (process.env.LIGHTDASH_URL) context.serverUrl = process.env.LIGHTDASH_URL;
    if (process.env.LIGHTDASH_PROJECT) context.project = process.env.LIGHTDASH_PROJECT;
    if (process.env.LIGHTDASH_PROXY_AUTHORIZATION) context.proxyAuthorization = process.env.LIGHTDASH_PROXY_AUTHORIZATION;
    return { ...config, context };
}

function setContext(context) {
    const config = getRawConfig();
    config.context = context; // login replaces the context: a saved project is dropped
    writeConfigFile(config);
}

function updateContext(changes) {
    const config = getRawConfig();
    config.context = { ...(config.context || {}), ...changes };
    for (const key of Object.keys(config.context)) if (config.context[key] === undefined) delete config.context[key];
    writeConfigFile(config);
}

function setDefaultUser(userUuid, organizationUuid) {
    const config = getRawConfig();
    config.user = { ...config.user, userUuid, organizationUuid };
    writeConfigFile(config);
}

// -- HTTP (handlers/utils.ts, handlers/dbt/apiClient.ts) ------------------------------------

const isCi = () => process.env.CI === 'true';

function buildRequestHeaders(token) {
    return {
        'Content-Type': 'application/json',
        // PATs once had no prefix: anything that is not a service-account token is an ApiKey.
        Authorization: token.startsWith('ldsvc_') ? `Bearer ${token}` : `ApiKey ${token}`,
        'Lightdash-Request-Method': isCi() ? 'CLI_CI' : 'CLI',
    };
}

async function lightdashApi({ method, url, body }) {
    const config = getConfig();
    if (!config.context.apiKey || !config.context.serverUrl) {
        throw new AuthorizationError(`Not logged in. Run 'lightdash login --help'`);
    }
    const headers = buildRequestHeaders(config.context.apiKey);
    if (config.context.proxyAuthorization) headers['Proxy-Authorization'] = config.context.proxyAuthorization;
    const fullUrl = new URL(url, config.context.serverUrl).href;
    let sentBody = body;
    // setGzipEnabled: a string body over 1024 bytes goes gzipped.
    if (process.env.REPLAY_GZIP === 'true' && typeof body === 'string' && body.length > 1024) {
        sentBody = zlib.gzipSync(body);
        headers['Content-Encoding'] = 'gzip';
    }
    const response = await logged(fullUrl, { method, headers, body: sentBody });
    if (!response.ok) {
        const type = response.headers.get('content-type') || '';
        if (type.includes('application/json')) {
            const payload = await response.json();
            throw new LightdashError(payload.error);
        }
        const text = await response.text();
        throw new Error(`Received non-JSON response from server (status ${response.status}): ${text}`);
    }
    const payload = await response.json();
    switch (payload.status) {
        case 'ok':
            return payload.results;
        case 'error':
            throw new LightdashError(payload.error);
        default:
            throw new Error(`Unexpected response: ${JSON.stringify(payload)}`);
    }
}

const getUserContext = () => lightdashApi({ method: 'GET', url: '/api/v1/user', body: undefined });

async function checkLightdashVersion() {
    try {
        const health = await lightdashApi({ method: 'GET', url: '/api/v1/health?skipMigrationCheck=true', body: undefined });
        if (typeof health.version !== 'string') throw new Error('health has no version');
        if (CLI_VERSION.split('.')[0] !== health.version.split('.')[0]) {
            warnings.push(`CLI ${CLI_VERSION} and server ${health.version} differ in major version`);
        }
    } catch (e) {
        // Never fails a command (the CLI only prints it with --verbose).
        debug.push(`health check failed: ${e.message}`);
    }
}

// analytics/analytics.ts: every event first identifies the user against the server.
async function track(_event) {
    const config = getConfig();
    if (!config.context.apiKey || !config.context.serverUrl) return;
    try {
        await getUserContext();
    } catch (e) {
        // The CLI swallows analytics failures.
    }
}

// -- CASL checks (handlers/dbt/apiClient.ts) --------------------------------------------------

async function checkProjectCreationPermission(upstreamProjectUuid, projectType) {
    const user = await getUserContext();
    const ability = new Ability(user.abilityRules);
    if (!user.organizationUuid) throw new ForbiddenError(`You don't have permission to create projects.`);
    if (projectType === 'DEFAULT') {
        if (ability.can('create', subject('Project', { organizationUuid: user.organizationUuid, type: 'DEFAULT' }))) return;
        throw new ForbiddenError(`You don't have permission to create projects in this organization.`);
    }
    if (upstreamProjectUuid) {
        if (ability.cannot('view', subject('Project', { organizationUuid: user.organizationUuid, projectUuid: upstreamProjectUuid }))) {
            throw new ForbiddenError('Unable to create preview project: no view access to the upstream project.');
        }
        if (ability.can('create', subject('Project', { upstreamProjectUuid, type: 'PREVIEW' }))) return;
    }
    if (ability.can('create', subject('Project', { organizationUuid: user.organizationUuid, type: 'PREVIEW' }))) return;
    throw new ForbiddenError(`You don't have permission to create preview projects in this organization.`);
}

async function getContentAsCodeUploadPermissions(projectUuid) {
    const [user, project] = await Promise.all([
        getUserContext(),
        lightdashApi({ method: 'GET', url: `/api/v1/projects/${projectUuid}`, body: undefined }),
    ]);
    const ability = new Ability(user.abilityRules);
    const contentAsCode = subject('ContentAsCode', {
        organizationUuid: project.organizationUuid,
        projectUuid: project.projectUuid,
        upstreamProjectUuid: project.upstreamProjectUuid,
        type: project.type,
        createdByUserUuid: project.createdByUserUuid,
    });
    if (ability.cannot('create', contentAsCode) && ability.cannot('manage', contentAsCode)) {
        throw new ForbiddenError(`You don't have permission to upload content as code to project "${project.name}".`);
    }
    const resource = {
        organizationUuid: project.organizationUuid,
        projectUuid: project.projectUuid,
        upstreamProjectUuid: project.upstreamProjectUuid,
        type: project.type,
        createdByUserUuid: project.createdByUserUuid,
        inheritsFromOrgOrProject: true,
        access: [{ userUuid: user.userUuid, role: 'admin' }],
    };
    return {
        charts: ability.can('manage', subject('SavedChart', { ...resource })),
        dashboards: ability.can('manage', subject('Dashboard', { ...resource })),
    };
}

module.exports = {
    AuthorizationError,
    ForbiddenError,
    LightdashError,
    buildRequestHeaders,
    checkLightdashVersion,
    checkProjectCreationPermission,
    configFilePath,
    debug,
    getConfig,
    getContentAsCodeUploadPermissions,
    getUserContext,
    lightdashApi,
    logged,
    readConfigFile,
    sent,
    setContext,
    setDefaultUser,
    track,
    updateContext,
    warnings,
};
