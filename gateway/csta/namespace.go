package csta

// CSTA XML namespaces by edition. Decoding accepts any namespace; these
// are what we write.
const (
	NamespaceEd2 = "http://www.ecma.ch/standards/ecma-323/csta/ed2"
	NamespaceEd3 = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
	NamespaceEd4 = "http://www.ecma-international.org/standards/ecma-323/csta/ed4"
	NamespaceEd5 = "http://www.ecma-international.org/standards/ecma-323/csta/ed5"
	NamespaceEd6 = "http://www.ecma-international.org/standards/ecma-323/csta/ed6"
)

// isSessionMessage reports the ECMA-354 messages, which live in their own
// namespace whatever the CSTA edition.
func isSessionMessage(name string) bool {
	switch name {
	case "StartApplicationSession", "StartApplicationSessionPosResponse", "StartApplicationSessionNegResponse",
		"StopApplicationSession", "StopApplicationSessionPosResponse", "StopApplicationSessionNegResponse",
		"ResetApplicationSessionTimer", "ResetApplicationSessionTimerPosResponse", "ResetApplicationSessionTimerNegResponse":
		return true
	}
	return false
}
