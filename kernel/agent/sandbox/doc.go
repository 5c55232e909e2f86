// Package sandbox knows the agent's on-disk layout under its work directory,
// which follows Mesos so that operators and tools find things where they
// expect them:
//
//	<work_dir>/slaves/<agentId>/frameworks/<fid>/executors/<eid>/runs/<containerId>/
//	    the sandbox: fetched URIs, stdout, stderr, the task's files
//	<work_dir>/slaves/<agentId>/frameworks/<fid>/executors/<eid>/runs/latest -> <containerId>
//	<work_dir>/slaves/latest -> <agentId>
//
//	<work_dir>/meta/boot_id
//	<work_dir>/meta/slaves/latest -> <agentId>
//	<work_dir>/meta/slaves/<agentId>/slave.info
//	<work_dir>/meta/slaves/<agentId>/frameworks/<fid>/framework.info
//	<work_dir>/meta/slaves/<agentId>/frameworks/<fid>/executors/<eid>/executor.info
//	<work_dir>/meta/slaves/<agentId>/frameworks/<fid>/executors/<eid>/runs/latest -> <containerId>
//	<work_dir>/meta/slaves/<agentId>/frameworks/<fid>/executors/<eid>/runs/<cid>/forked.pid
//	<work_dir>/meta/slaves/<agentId>/frameworks/<fid>/executors/<eid>/runs/<cid>/http.marker
//	<work_dir>/meta/slaves/<agentId>/frameworks/<fid>/executors/<eid>/runs/<cid>/completed
//	<work_dir>/meta/slaves/<agentId>/frameworks/<fid>/executors/<eid>/runs/<cid>/tasks/<tid>/task.info
//	<work_dir>/meta/slaves/<agentId>/frameworks/<fid>/executors/<eid>/runs/<cid>/tasks/<tid>/task.updates
//
// The meta tree is written only for frameworks that checkpoint (package
// checkpoint reads and writes its files). `completed` is Strata's sentinel
// for a run whose executor has terminated (Mesos keeps an equivalent
// marker). Beside them, <work_dir>/containers holds the containerizer's own
// state.
//
// It also maps the virtual paths the /files endpoints accept,
// /frameworks/<fid>/executors/<eid>/runs/latest, to sandboxes.
//
// Every id that becomes a path component is validated (non-empty, not "." or
// "..", no "/", "\" or control characters), so a hostile framework or task id
// cannot point outside the work directory.
package sandbox
