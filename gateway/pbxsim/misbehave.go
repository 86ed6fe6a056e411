package pbxsim

import (
	"regexp"
	"sort"
)

// Misbehaviours: modes in which the switch breaks the standard the way
// small switches do (issue 10), so that the conformance command can be
// shown to catch them. Set from the start by Config.Faults or later by
// InjectFault; FaultClear ends them.
const (
	// FaultNoClearResponse: ClearConnection is carried out but never
	// answered.
	FaultNoClearResponse = "no-clear-response"
	// FaultNoCallID: events carry connections with no callID.
	FaultNoCallID = "no-call-id"
	// FaultAnswerAny: AnswerCall on a call that is not ringing is answered
	// with success instead of stateIncompatibility/noCallToAnswer.
	FaultAnswerAny = "answer-any"
)

var misbehaviours = map[string]bool{FaultNoClearResponse: true, FaultNoCallID: true, FaultAnswerAny: true}

// callIDElement matches a callID element as the codec writes it.
var callIDElement = regexp.MustCompile(`<callID>[^<]*</callID>`)

// dropCallIDs takes every callID out of an encoded event.
func dropCallIDs(body []byte) []byte {
	return callIDElement.ReplaceAll(body, nil)
}

func sortedModes(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k, on := range m {
		if on {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
