package core

import (
	"context"
	"errors"
	"strings"
	"time"

	"crmcti/gateway"
	"crmcti/gateway/wire"
)

// note records the agent's after-call note and outcome on one of her
// calls (B13): a live one, one that ended lately, or one the call log
// holds at her phone (after a gateway restart the recent calls the panel
// lists come from there). The call log keeps it, a "noted" step in the
// timeline marks when, and every tab of hers is told.
func (s *Service) note(ctx context.Context, r request, req wire.Note) (any, error) {
	text := strings.TrimSpace(req.Note)
	disp := gateway.Disposition(req.Disposition)
	if !disp.Valid() {
		return nil, gateway.Errorf(gateway.CodeInvalidRequest, "the outcome %q is not one of %s", req.Disposition, dispositionList())
	}
	if text == "" && disp == "" {
		return nil, gateway.Errorf(gateway.CodeInvalidRequest, "write a note or choose an outcome")
	}
	call, err := s.notedCall(ctx, r, req.CallID)
	if err != nil {
		s.auditCommand(r, "note "+req.CallID, err)
		return nil, err
	}
	call.Note, call.Disposition = text, disp
	s.applyNote(r.agent, call)
	s.auditCommand(r, "note "+req.CallID, nil)
	return empty{}, nil
}

// notedCall finds the agent's call to note: in memory, else in the call
// log at her own device.
func (s *Service) notedCall(ctx context.Context, r request, callID string) (gateway.Call, error) {
	s.mu.Lock()
	lc := r.agent.findRecent(callID)
	var call gateway.Call
	if lc != nil {
		call = lc.Call
	}
	s.mu.Unlock()
	if lc != nil {
		return call, nil
	}
	if err := s.ownsRecent(r.agent, callID); gateway.ErrorCode(err) == gateway.CodeNotYourCall {
		return call, err
	}
	call, err := s.store.LoggedCall(ctx, callID, r.device())
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		return call, gateway.Errorf(gateway.CodeNoSuchCall, "no call of yours has that ID")
	case err != nil:
		return call, gateway.Wrap(gateway.CodeDatabaseDown, err, "the call log is unavailable; try again shortly")
	}
	return call, nil
}

// applyNote keeps the note on the call in memory, queues it for the call
// log and tells every tab.
func (s *Service) applyNote(st *agentState, call gateway.Call) {
	s.mu.Lock()
	if lc := st.findRecent(call.ID); lc != nil {
		lc.Note, lc.Disposition = call.Note, call.Disposition
		call = lc.Call
	}
	s.broadcastLocked(st, wire.TNoted, wire.Note{CallID: call.ID, Note: call.Note, Disposition: string(call.Disposition)})
	entry := gateway.LogEntry{Call: call, Username: st.agent.Username, Event: gateway.EvNoted, At: time.Now(), Detail: string(call.Disposition)}
	s.mu.Unlock()
	s.calllog.add(entry)
}

func dispositionList() string {
	codes := make([]string, len(gateway.Dispositions))
	for i, d := range gateway.Dispositions {
		codes[i] = string(d)
	}
	return strings.Join(codes, ", ")
}
