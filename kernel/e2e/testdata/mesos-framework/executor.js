"use strict";
// A custom Mesos executor written with the unmodified npm package mesos-framework's Executor. The
// agent starts it (scheduler.js SCENARIO=executor puts it in the task's ExecutorInfo) with the MESOS_*
// environment; it subscribes to the agent's /api/v1/executor, runs the command found in the launched
// task's "interop-command" label, and reports TASK_RUNNING, then TASK_FINISHED (or TASK_FAILED) with
// the command's output in the message. It exits once the terminal update has been acknowledged.

var crypto = require("crypto");
var childProcess = require("child_process");
var Executor = require("mesos-framework").Executor;

var agentInfo = null;
var terminalUuid = null;

// uuidBytes returns a fresh version-4 UUID as the base64 of its 16 bytes, the JSON form of
// TaskStatus.uuid.
function uuidBytes() {
    return Buffer.from(crypto.randomUUID().replace(/-/g, ""), "hex").toString("base64");
}

function log(msg) {
    console.log("executor.js: " + msg);
}

var executor = new Executor({
    // The library calls a built-in handler only through a name it does not define, so every event
    // the agent may send gets its own handler here (one argument each, upper-case names).
    handlers: {
        "SUBSCRIBED": function (subscribed) {
            agentInfo = subscribed.agent_info;
            log("subscribed to agent " + (agentInfo && agentInfo.id ? agentInfo.id.value : "?") +
                " as executor " + subscribed.executor_info.executor_id.value);
        },
        "LAUNCH": function (launched) {
            runTask(this, launched.task);
        },
        "KILL": function (killed) {
            log("kill " + killed.task_id.value);
            sendStatus(this, killed.task_id, "TASK_KILLED", "killed by executor.js", true);
        },
        "ACKNOWLEDGED": function (acknowledged) {
            log("acknowledged " + acknowledged.task_id.value + " " + acknowledged.uuid);
            if (terminalUuid !== null && acknowledged.uuid === terminalUuid) {
                log("terminal update acknowledged, exiting");
                process.exit(0);
            }
        },
        "MESSAGE": function (message) {
            log("message " + message.data);
        },
        "ERROR": function (error) {
            log("agent error: " + error.message);
            process.exit(1);
        },
        "SHUTDOWN": function (shutdown) {
            log("shutdown");
            process.exit(0);
        }
    }
});

function sendStatus(exec, taskId, state, message, terminal) {
    var status = {
        task_id: taskId,
        state: state,
        source: "SOURCE_EXECUTOR",
        message: message,
        executor_id: exec.executorId,
        timestamp: Date.now() / 1000,
        uuid: uuidBytes()
    };
    if (agentInfo && agentInfo.id) {
        status.agent_id = agentInfo.id;
    }
    if (terminal) {
        terminalUuid = status.uuid;
    }
    log("update " + taskId.value + " " + state);
    exec.update(status);
}

function runTask(exec, task) {
    var command = null;
    ((task.labels && task.labels.labels) || []).forEach(function (label) {
        if (label.key === "interop-command") {
            command = label.value;
        }
    });
    log("launch " + task.task_id.value + ": " + command);
    if (command === null) {
        sendStatus(exec, task.task_id, "TASK_FAILED", "executor.js: the task has no interop-command label", true);
        return;
    }
    sendStatus(exec, task.task_id, "TASK_RUNNING", "executor.js runs the command", false);
    childProcess.exec(command, { shell: "/bin/sh" }, function (err, stdout, stderr) {
        var out = (stdout + stderr).trim();
        if (err) {
            sendStatus(exec, task.task_id, "TASK_FAILED", "executor.js: command failed: " + err.message + " " + out, true);
        } else {
            sendStatus(exec, task.task_id, "TASK_FINISHED", "executor.js: command printed " + out, true);
        }
    });
}

executor.on("error", function (error) {
    var msg = error && error.message ? error.message : JSON.stringify(error);
    log("library error: " + msg);
    // Without checkpointing an executor ends when it loses its agent, as Mesos' executors do.
    if (/Long-running connection was closed|problem with the request/.test(msg)) {
        process.exit(1);
    }
});

// Never outlive a test that went wrong.
setTimeout(function () {
    log("giving up after 120s");
    process.exit(1);
}, 120000).unref();

executor.subscribe();
