package master

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

const streamIDHeader = "Mesos-Stream-Id"

// handleScheduler serves POST /api/v1/scheduler with the checks in the order Mesos makes them:
// leadership, method and content type, parse, validate, then the call itself.
func (m *Master) handleScheduler(c *gin.Context) {
	if m.redirectToLeader(c) {
		return
	}
	call := &schedulerpb.Call{}
	if _, ok := decodeCall(c, call, "Call protobuf"); !ok {
		return
	}
	normalizeFrameworkInfo(call.GetSubscribe().GetFrameworkInfo())
	normalizeFrameworkInfo(call.GetUpdateFramework().GetFrameworkInfo())
	if err := validateSchedulerCall(call); err != nil {
		textError(c, http.StatusBadRequest, "Failed to validate scheduler::Call: %v", err)
		return
	}
	m.metrics.schedulerCalls.WithLabelValues(call.GetType().String()).Inc()
	if call.GetType() == schedulerpb.Call_SUBSCRIBE {
		m.subscribe(c, call)
		return
	}

	fwID := call.GetFrameworkId().GetValue()
	m.mu.Lock()
	fw := m.frameworks[fwID]
	switch {
	case fw == nil:
		m.mu.Unlock()
		textError(c, http.StatusBadRequest, "Framework cannot be found")
		return
	case !fw.connected:
		m.mu.Unlock()
		textError(c, http.StatusForbidden, "Framework is not subscribed")
		return
	}
	sid := c.Request.Header.Get(streamIDHeader)
	if sid == "" {
		m.mu.Unlock()
		textError(c, http.StatusBadRequest, "All non-subscribe calls should include the '%s' header", streamIDHeader)
		return
	}
	if sid != fw.streamID {
		m.mu.Unlock()
		textError(c, http.StatusBadRequest, "The stream ID '%s' included in this request didn't match the stream ID currently associated with framework ID %s", sid, fwID)
		return
	}

	switch call.GetType() {
	case schedulerpb.Call_UPDATE_FRAMEWORK:
		code, msg := m.updateFramework(fw, call.GetUpdateFramework())
		m.mu.Unlock()
		if code != http.StatusOK {
			textError(c, code, "%s", msg)
			return
		}
		// An empty 200, but with a Content-Type: clients check it on every 200 answer.
		cd, ok := acceptCodec(c)
		if !ok {
			cd = codec.JSON
		}
		c.Data(http.StatusOK, cd.ContentType(), nil)
		return
	case schedulerpb.Call_RECONCILE_OPERATIONS:
		m.mu.Unlock()
		// Strata runs no operations with feedback yet, so there is nothing to report.
		resp := &schedulerpb.Response{
			Type:                schedulerpb.Response_RECONCILE_OPERATIONS.Enum(),
			ReconcileOperations: &schedulerpb.Response_ReconcileOperations{},
		}
		cd, ok := acceptCodec(c)
		if !ok {
			textError(c, http.StatusNotAcceptable, "Expecting 'Accept' to allow application/json or application/x-protobuf")
			return
		}
		writeMessage(c, cd, resp)
		return
	}
	err := m.dispatchSchedulerCall(fw, call)
	m.mu.Unlock()
	if err != nil {
		textError(c, http.StatusBadRequest, "Failed to validate scheduler::Call: %v", err)
		return
	}
	c.Status(http.StatusAccepted)
}

// dispatchSchedulerCall applies one non-subscribe call; m.mu is held. Errors are the caller's
// fault and become 400 answers.
func (m *Master) dispatchSchedulerCall(fw *framework, call *schedulerpb.Call) error {
	switch call.GetType() {
	case schedulerpb.Call_TEARDOWN:
		m.removeFramework(fw, "framework asked for teardown")
	case schedulerpb.Call_ACCEPT:
		m.accept(fw, call.GetAccept())
	case schedulerpb.Call_DECLINE:
		m.decline(fw, call.GetDecline().GetOfferIds(), call.GetDecline().GetFilters())
	case schedulerpb.Call_ACCEPT_INVERSE_OFFERS, schedulerpb.Call_DECLINE_INVERSE_OFFERS:
		// Strata sends no inverse offers (no maintenance schedules yet): nothing to do.
	case schedulerpb.Call_REVIVE:
		m.revive(fw, call.GetRevive().GetRoles())
	case schedulerpb.Call_SUPPRESS:
		m.suppress(fw, call.GetSuppress().GetRoles())
	case schedulerpb.Call_KILL:
		m.kill(fw, call.GetKill())
	case schedulerpb.Call_SHUTDOWN:
		m.shutdownExecutor(fw, call.GetShutdown())
	case schedulerpb.Call_ACKNOWLEDGE:
		return m.acknowledge(fw, call.GetAcknowledge())
	case schedulerpb.Call_ACKNOWLEDGE_OPERATION_STATUS:
		// No operation updates are sent, so none can be acknowledged; accepted as a no-op.
	case schedulerpb.Call_RECONCILE:
		m.reconcile(fw, call.GetReconcile())
	case schedulerpb.Call_MESSAGE:
		m.frameworkMessage(fw, call.GetMessage())
	case schedulerpb.Call_REQUEST:
		// The built-in allocator ignores requests, as Mesos' does.
	default:
		return fmt.Errorf("unsupported call type %s", call.GetType())
	}
	return nil
}

// validateSchedulerCall mirrors Mesos' scheduler::call::validate.
func validateSchedulerCall(call *schedulerpb.Call) error {
	if call.Type == nil || call.GetType() == schedulerpb.Call_UNKNOWN {
		return fmt.Errorf("Expecting 'type' to be present")
	}
	if call.GetType() == schedulerpb.Call_SUBSCRIBE {
		if call.Subscribe == nil {
			return fmt.Errorf("Expecting 'subscribe' to be present")
		}
		fi := call.GetSubscribe().GetFrameworkInfo()
		if call.FrameworkId != nil && fi.GetId().GetValue() != call.GetFrameworkId().GetValue() {
			return fmt.Errorf("'framework_id' differs from 'subscribe.framework_info.id'")
		}
		if err := validateFrameworkInfo(fi); err != nil {
			return err
		}
		return validateSuppressedRoles(fi, call.GetSubscribe().GetSuppressedRoles())
	}
	if call.FrameworkId == nil {
		return fmt.Errorf("Expecting 'framework_id' to be present")
	}
	if err := validateID("framework_id", call.GetFrameworkId().GetValue()); err != nil {
		return err
	}
	need := func(present bool, name string) error {
		if !present {
			return fmt.Errorf("Expecting '%s' to be present", name)
		}
		return nil
	}
	switch call.GetType() {
	case schedulerpb.Call_ACCEPT:
		return need(call.Accept != nil, "accept")
	case schedulerpb.Call_DECLINE:
		return need(call.Decline != nil, "decline")
	case schedulerpb.Call_ACCEPT_INVERSE_OFFERS:
		return need(call.AcceptInverseOffers != nil, "accept_inverse_offers")
	case schedulerpb.Call_DECLINE_INVERSE_OFFERS:
		return need(call.DeclineInverseOffers != nil, "decline_inverse_offers")
	case schedulerpb.Call_KILL:
		return need(call.Kill != nil, "kill")
	case schedulerpb.Call_SHUTDOWN:
		return need(call.Shutdown != nil, "shutdown")
	case schedulerpb.Call_ACKNOWLEDGE:
		if err := need(call.Acknowledge != nil, "acknowledge"); err != nil {
			return err
		}
		if _, err := uuid.FromBytes(call.GetAcknowledge().GetUuid()); err != nil {
			return fmt.Errorf("'uuid' is not a valid UUID: %v", err)
		}
	case schedulerpb.Call_ACKNOWLEDGE_OPERATION_STATUS:
		return need(call.AcknowledgeOperationStatus != nil, "acknowledge_operation_status")
	case schedulerpb.Call_RECONCILE:
		return need(call.Reconcile != nil, "reconcile")
	case schedulerpb.Call_RECONCILE_OPERATIONS:
		return need(call.ReconcileOperations != nil, "reconcile_operations")
	case schedulerpb.Call_MESSAGE:
		return need(call.Message != nil, "message")
	case schedulerpb.Call_REQUEST:
		return need(call.Request != nil, "request")
	case schedulerpb.Call_UPDATE_FRAMEWORK:
		if err := need(call.UpdateFramework != nil, "update_framework"); err != nil {
			return err
		}
		fi := call.GetUpdateFramework().GetFrameworkInfo()
		if fi.GetId().GetValue() != call.GetFrameworkId().GetValue() {
			return fmt.Errorf("'framework_id' differs from 'update_framework.framework_info.id'")
		}
		if err := validateFrameworkInfo(fi); err != nil {
			return err
		}
		return validateSuppressedRoles(fi, call.GetUpdateFramework().GetSuppressedRoles())
	}
	return nil
}

// validateSuppressedRoles checks that every suppressed role is one the framework subscribes to.
func validateSuppressedRoles(fi *mesospb.FrameworkInfo, suppressed []string) error {
	roles := fi.GetRoles()
	if !hasCapability(fi, mesospb.FrameworkInfo_Capability_MULTI_ROLE) {
		roles = []string{fi.GetRole()}
	}
	subscribed := toSet(roles)
	for _, r := range suppressed {
		if !subscribed[r] {
			return fmt.Errorf("Suppressed role '%s' is not contained in the list of roles", r)
		}
	}
	return nil
}
