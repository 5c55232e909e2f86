// Package apps wires the apps service, Strata's distributed init with Marathon's /v2 API: the
// store (services/apps/store), the Mesos framework (services/apps/framework), the deployment
// manager (services/apps/deploy) and the HTTP API (services/apps/api). Service.Run loads the
// state from the store, starts serving the API, subscribes to the master (reconciling before
// it acts) and drives the deployments, until its context ends. `strata apps` runs it on its
// own and `strata dev` next to a master and an agent.
package apps
