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

// NamespaceAvaya is Avaya's namespace for the DMCC messages that are not
// CSTA (GetDeviceId, ReleaseDeviceId, …) and for SessionLoginInfo.
const NamespaceAvaya = "http://www.avaya.com/csta"

// NamespaceXSI is XML Schema's instance namespace, for xsi:type.
const NamespaceXSI = "http://www.w3.org/2001/XMLSchema-instance"

// FixedNamespace returns the namespace a message is always written in
// whatever the CSTA edition of the session (ECMA-354 session messages,
// Avaya's device-ID messages), or "" for a CSTA message. A peer that
// adopts the namespace of the requests it receives should ignore
// messages for which this is not "".
func FixedNamespace(name string) string {
	switch name {
	case "StartApplicationSession", "StartApplicationSessionPosResponse", "StartApplicationSessionNegResponse",
		"StopApplicationSession", "StopApplicationSessionPosResponse", "StopApplicationSessionNegResponse",
		"ResetApplicationSessionTimer", "ResetApplicationSessionTimerPosResponse", "ResetApplicationSessionTimerNegResponse":
		return NamespaceApplSession
	case "GetDeviceId", "GetDeviceIdResponse", "GetThirdPartyDeviceId", "GetThirdPartyDeviceIdResponse",
		"ReleaseDeviceId", "ReleaseDeviceIdResponse":
		return NamespaceAvaya
	}
	return ""
}
