package pbxsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"crmcti/gateway/csta"
)

// ControlHandler is the simulator's HTTP JSON API, the outside world's
// side of the switch:
//
//	POST /calls                  {"from":"+35722123456","to":"1001"} -> {"callId":"…","outcome":"alerting","device":"1001"}
//	POST /calls/{callId}/answer  {"device":"+35722123456"}   a party answers (external, or a phone picked up)
//	POST /calls/{callId}/hangup  {"device":"+35722123456"}   a party hangs up
//	POST /calls/{callId}/hold    {"device":"1001"}           held from the phone
//	POST /calls/{callId}/retrieve {"device":"1001"}
//	GET  /calls                  the calls in progress
//	GET  /devices/{device}       one extension's state
//	PUT  /devices/{device}       {"doNotDisturb":true} or {"agentState":"notReady"}: changed on the phone
//	PUT  /settings               {"autoAnswerMs":500}: how fast external parties answer (0 = never)
//	POST /faults                 {"kind":"drop-link"|"stall"|"malformed-frame"|"malformed-xml"|"clear","durationMs":0}
//
// Errors are {"error":"…"} with 400 (bad input), 404 (no such call or
// device) or 409 (the state does not allow it, with the CSTA error).
func (s *Sim) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /calls", s.postCall)
	mux.HandleFunc("POST /calls/{id}/answer", s.partyAction(s.Answer))
	mux.HandleFunc("POST /calls/{id}/hangup", s.partyAction(s.Hangup))
	mux.HandleFunc("POST /calls/{id}/hold", s.partyAction(s.Hold))
	mux.HandleFunc("POST /calls/{id}/retrieve", s.partyAction(s.Retrieve))
	mux.HandleFunc("GET /calls", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Calls())
	})
	mux.HandleFunc("GET /devices/{dev}", s.getDevice)
	mux.HandleFunc("PUT /devices/{dev}", s.putDevice)
	mux.HandleFunc("PUT /settings", s.putSettings)
	mux.HandleFunc("POST /faults", s.postFault)
	mux.HandleFunc("GET /{$}", s.describeAPI)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	return mux
}

// postCall rings an extension from an external number.
func (s *Sim) postCall(w http.ResponseWriter, r *http.Request) {
	var req struct{ From, To string }
	if !decode(w, r, &req) {
		return
	}
	if req.From == "" || req.To == "" {
		writeErr(w, http.StatusBadRequest, errors.New(`"from" and "to" are required`))
		return
	}
	res, err := s.StartInbound(req.From, req.To)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusCreated, res)
}

// partyAction serves what one party of a call does ({"device":…}).
func (s *Sim) partyAction(op func(callID, dev string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Device string }
		if !decode(w, r, &req) {
			return
		}
		if req.Device == "" {
			writeErr(w, http.StatusBadRequest, errors.New(`"device" is required`))
			return
		}
		if err := op(r.PathValue("id"), req.Device); err != nil {
			writeErr(w, statusOf(err), err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}
}

func (s *Sim) getDevice(w http.ResponseWriter, r *http.Request) {
	d, err := s.Device(r.PathValue("dev"))
	if err != nil {
		writeErr(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// putDevice changes do-not-disturb or the agent state as if on the phone.
func (s *Sim) putDevice(w http.ResponseWriter, r *http.Request) {
	var req struct {
		DoNotDisturb *bool  `json:"doNotDisturb"`
		AgentState   string `json:"agentState"`
	}
	if !decode(w, r, &req) {
		return
	}
	dev := r.PathValue("dev")
	if _, err := s.Device(dev); err != nil {
		writeErr(w, statusOf(err), err)
		return
	}
	if req.DoNotDisturb != nil {
		if err := s.SetDoNotDisturb(dev, *req.DoNotDisturb); err != nil {
			writeErr(w, statusOf(err), err)
			return
		}
	}
	if req.AgentState != "" {
		if err := s.SetAgentState(dev, req.AgentState); err != nil {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("agentState %q: use ready, notReady, workingAfterCall, loggedOn or loggedOff", req.AgentState))
			return
		}
	}
	d, _ := s.Device(dev)
	writeJSON(w, http.StatusOK, d)
}

func (s *Sim) putSettings(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AutoAnswerMs *int `json:"autoAnswerMs"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.AutoAnswerMs != nil {
		if *req.AutoAnswerMs < 0 {
			writeErr(w, http.StatusBadRequest, errors.New("autoAnswerMs must be >= 0"))
			return
		}
		s.SetAutoAnswer(time.Duration(*req.AutoAnswerMs) * time.Millisecond)
	}
	s.mu.Lock()
	ms := s.auto.Milliseconds()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"autoAnswerMs": ms})
}

func (s *Sim) postFault(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Kind       string `json:"kind"`
		DurationMs int    `json:"durationMs"`
	}
	if !decode(w, r, &req) {
		return
	}
	if err := s.InjectFault(req.Kind, time.Duration(req.DurationMs)*time.Millisecond); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// describeAPI is the API's index: what it serves and the settings in force.
func (s *Sim) describeAPI(w http.ResponseWriter, r *http.Request) {
	first, last := s.Extensions()
	writeJSON(w, http.StatusOK, map[string]any{
		"service":    "pbxsim control API",
		"extensions": fmt.Sprintf("%d-%d", first, last),
		"settings":   s.Describe(),
		"endpoints": []string{"POST /calls", "POST /calls/{callId}/answer|hangup|hold|retrieve", "GET /calls",
			"GET /devices/{device}", "PUT /devices/{device}", "PUT /settings", "POST /faults"},
	})
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("bad JSON body: %w", err))
		return false
	}
	return true
}

func statusOf(err error) int {
	var ce *csta.CSTAErrorCode
	switch {
	case errors.Is(err, errNotFound):
		return http.StatusNotFound
	case errors.As(err, &ce):
		return http.StatusConflict
	}
	return http.StatusBadRequest
}

func writeErr(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
