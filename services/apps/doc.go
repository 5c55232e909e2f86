// Package apps wires the apps service, Strata's distributed init with Marathon's /v2 API: the
// store (services/apps/store), the Mesos framework (services/apps/framework, placing instances
// with services/apps/placement), the deployment manager (services/apps/deploy), the event bus
// (services/apps/events) and the HTTP API (services/apps/api). Service.Run loads the state from
// the store, starts serving the API, subscribes to the master (reconciling before it acts) and
// drives the deployments, until its context ends; at the end it closes the event bus (ending
// the /v2/events streams) before it shuts the HTTP server down. `strata apps` runs it on its
// own and `strata dev` next to a master and an agent.
//
// The group tree (/v2/groups) lives in the deployment manager beside the apps; the store keeps
// its versions (see groups_store.go, the deploy package's RootStore).
//
// Deployments are gated by health and readiness checks: the agent runs the health checks and the
// framework kills unhealthy instances, rate-limited per app (Config.HealthKillShare and
// HealthKillWindow); the deployment manager runs the readiness checks
// (services/apps/readiness) against the instances it waits for. A deployment FAILED by the
// progress deadline may be auto-reverted to the apps' last good versions (Config.AutoRevert,
// or upgradeStrategy.autoRevert, a Strata extension).
//
// Framework, deployment manager and API publish on one bus, registered with the service's
// Prometheus registry. Event ids keep increasing across restarts: the store keeps a high-water
// mark (the last id after a clean stop, a reservation ahead of the ids handed out while
// running), and the next run numbers from the mark + 1.
package apps
