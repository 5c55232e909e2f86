"use strict";
// A minimal Mesos framework written with the unmodified npm package mesos-framework, the way its
// README shows: a Scheduler with a `tasks` definition, started on "ready", watching status updates.
// It is Strata's interoperability check against a third-party Mesos v1 HTTP API client.
//
// Environment:
//   STRATA_MASTER   host:port of the master (required)
//   SCENARIO        "command" (default): one command task through the library's own OFFERS handler;
//                   "executor": one task run by executor.js, the library's Executor, as a custom
//                   executor talking to the agent's /api/v1/executor
//   MF_LOG_DIR      where the library's file logger writes (default: the system temp directory)
//
// It prints one "STATUS <state> ..." line per status update, and exits 0 after TASK_FINISHED of its
// task has been acknowledged and the framework torn down; 1 on TASK_FAILED/ERROR/LOST/KILLED/DROPPED,
// on any error the library reports, or after 60 s.

var fs = require("fs");
var os = require("os");
var path = require("path");
var mesosFramework = require("mesos-framework");
var Scheduler = mesosFramework.Scheduler;
var Mesos = mesosFramework.Mesos.getMesos();
var helpers = mesosFramework.helpers;

var master = process.env.STRATA_MASTER || "";
var scenario = process.env.SCENARIO || "command";
var hostPort = master.split(":");
if (hostPort.length !== 2 || !(parseInt(hostPort[1], 10) > 0)) {
    console.error("scheduler.js: set STRATA_MASTER to host:port");
    process.exit(2);
}
if (scenario !== "command" && scenario !== "executor") {
    console.error("scheduler.js: SCENARIO must be command or executor");
    process.exit(2);
}

var BAD_STATES = ["TASK_FAILED", "TASK_ERROR", "TASK_LOST", "TASK_KILLED", "TASK_DROPPED", "TASK_GONE"];
var exited = false;
var tearingDown = false;

function finish(code, why) {
    if (exited) {
        return;
    }
    exited = true;
    console.log("RESULT " + (code === 0 ? "ok" : "fail") + ": " + why);
    process.exit(code);
}

setTimeout(function () {
    finish(1, "timed out after 60s");
}, 60000);

// The command a task runs, in both scenarios.
var COMMAND = "echo interop-ok && sleep 1";

// The library's file logger needs its directory to exist.
var logDir = process.env.MF_LOG_DIR || os.tmpdir();
fs.mkdirSync(logDir, { recursive: true });

var options = {
    masterUrl: hostPort[0],
    port: parseInt(hostPort[1], 10),
    frameworkName: "strata-interop-" + scenario,
    useZk: false,
    logging: {
        path: logDir,
        fileName: "mesos-framework-" + scenario + ".log",
        level: "info"
    },
    tasks: {
        interop: {
            priority: 1,
            instances: 1,
            commandInfo: new Mesos.CommandInfo(
                null,    // URI
                null,    // Environment
                true,    // Is shell?
                COMMAND, // Command
                null,    // Arguments
                null     // User
            ),
            resources: {
                cpus: 0.1,
                mem: 32,
                ports: 1,
                disk: 0
            }
        }
    },
    handlers: {}
};

if (scenario === "executor") {
    // The library's default OFFERS handler always puts the task definition's commandInfo into the
    // TaskInfo (it is mandatory there), and Mesos rejects a TaskInfo that has both a command and an
    // executor. So, as the README suggests for custom logic, this scenario brings its own OFFERS
    // handler: it launches one task whose ExecutorInfo runs executor.js, and declines everything else.
    var launched = false;
    var executorCommand = "exec '" + process.execPath + "' '" + path.join(__dirname, "executor.js") + "'";
    options.handlers.OFFERS = function (offers) {
        var self = this;
        offers.offers.forEach(function (offer) {
            if (launched) {
                self.decline([offer.id], null);
                return;
            }
            launched = true;
            var taskId = self.options.frameworkName + ".interop." + Date.now();
            var executorInfo = new Mesos.ExecutorInfo({
                executor_id: new Mesos.ExecutorID("interop-executor." + Date.now()),
                command: new Mesos.CommandInfo(null, null, true, executorCommand, null, null),
                resources: [
                    new Mesos.Resource("cpus", Mesos.Value.Type.SCALAR, new Mesos.Value.Scalar(0.1)),
                    new Mesos.Resource("mem", Mesos.Value.Type.SCALAR, new Mesos.Value.Scalar(32))
                ],
                name: "interop executor.js"
            });
            var task = new Mesos.TaskInfo(
                "interop-executor-task",  // Task name
                new Mesos.TaskID(taskId), // TaskID
                offer.agent_id,           // AgentID
                [
                    new Mesos.Resource("cpus", Mesos.Value.Type.SCALAR, new Mesos.Value.Scalar(0.1)),
                    new Mesos.Resource("mem", Mesos.Value.Type.SCALAR, new Mesos.Value.Scalar(32))
                ],
                executorInfo,             // ExecutorInfo
                null,                     // CommandInfo
                null,                     // ContainerInfo
                null,                     // HealthCheck
                null,                     // KillPolicy
                // Data stays unset: the library would serialize a bytes field as a ByteBuffer object.
                null,                     // Data
                new Mesos.Labels([new Mesos.Label("interop-command", COMMAND)]), // what executor.js runs
                null                      // DiscoveryInfo
            );
            // The library tracks launched tasks by id; register ours so its bookkeeping stays sane.
            self.launchedTasks.push({ name: "interop-1", taskId: taskId, runtimeInfo: { agentId: offer.agent_id.value, state: "TASK_STAGING" } });
            self.pendingTasks = [];
            var operation = helpers.stringifyEnumsRecursive(new Mesos.Offer.Operation(
                Mesos.Offer.Operation.Type.LAUNCH,
                new Mesos.Offer.Operation.Launch([task])
            ));
            console.log("LAUNCH " + taskId + " with executor " + executorInfo.executor_id.value);
            self.accept([offer.id], operation, null);
        });
    };
}

var scheduler = new Scheduler(options);

scheduler.on("ready", function () {
    scheduler.subscribe();
});

scheduler.on("subscribed", function (obj) {
    console.log("SUBSCRIBED framework " + obj.frameworkId + " stream " + obj.mesosStreamId);
});

scheduler.on("offers", function (offers) {
    offers.offers.forEach(function (offer) {
        console.log("OFFER " + offer.id.value + " from agent " + offer.agent_id.value + " (" + offer.hostname + ")");
    });
});

scheduler.on("sent_accept", function () {
    console.log("ACCEPT answered 202");
});

var finished = false;

scheduler.on("update", function (update) {
    var st = update.status;
    console.log("STATUS " + st.state + " task=" + st.task_id.value +
        " source=" + st.source + (st.reason ? " reason=" + st.reason : "") +
        (st.message ? " message=" + JSON.stringify(st.message) : ""));
    if (BAD_STATES.indexOf(st.state) > -1) {
        finish(1, "task ended in " + st.state);
    }
    if (st.state === "TASK_FINISHED") {
        finished = true;
    }
});

scheduler.on("sent_acknowledge", function () {
    if (finished && !tearingDown) {
        console.log("ACKNOWLEDGE of TASK_FINISHED answered 202, tearing down");
        tearingDown = true;
        scheduler.teardown();
    }
});

scheduler.on("sent_teardown", function () {
    console.log("TEARDOWN answered 202");
    finish(0, "TASK_FINISHED");
});

scheduler.on("error", function (error) {
    var msg = error && error.message ? error.message : JSON.stringify(error);
    if (tearingDown && /Long-running connection was closed|Framework cannot be found/.test(msg)) {
        // The master closes the event stream on TEARDOWN, and calls still in flight then (a
        // DECLINE of an offer that came just before) find no framework: as in Mesos, 400
        // "Framework cannot be found". The library reports both as errors.
        console.log("ignored after TEARDOWN: " + msg);
        return;
    }
    console.log("LIBRARY ERROR " + msg);
    if (error && error.stack) {
        console.log(error.stack);
    }
    finish(1, "the library reported an error: " + msg);
});
