package csta

// Avaya AES (DMCC) messages. DMCC speaks ECMA-323 edition 3 with Avaya's
// private data, opens sessions with ECMA-354 carrying SessionLoginInfo,
// and addresses every device by an ID the server assigns
// ("1001:CM1:10.0.0.1:0": extension, switch name, switch address,
// instance) that GetDeviceId hands out and ReleaseDeviceId takes back.
// Element names and order follow Avaya's DMCC XML schema; these messages
// are always written in NamespaceAvaya (FixedNamespace).

// SessionLoginInfo authenticates the application to AES. It rides in
// StartApplicationSession's applicationSpecificInfo, in NamespaceAvaya
// under the prefix "acx" with xsi:type, as AES requires. SessionID, sent
// when starting again after a link loss within SessionCleanupDelay,
// recovers the previous session with its device IDs and monitors.
type SessionLoginInfo struct {
	UserName            string `csta:"userName"`
	Password            string `csta:"password"`
	SessionCleanupDelay int    `csta:"sessionCleanupDelay"` // seconds AES keeps a lost session
	SessionID           string `csta:"sessionID"`
}

func (SessionLoginInfo) foreignPrefix() (prefix, ns string) { return "acx", NamespaceAvaya }

// GetDeviceId asks AES for the ID of a station (extension) on a switch
// (SwitchName, the switch connection's name in AES), to control and
// monitor it as its first party.
type GetDeviceId struct {
	SwitchName string `csta:"switchName"`
	Extension  string `csta:"extension"`
	// ControllableByOtherSessions lets other sessions use the same ID.
	ControllableByOtherSessions bool `csta:"controllableByOtherSessions,omitfalse"`
}

// GetDeviceIdResponse carries the device ID to use in every later request.
type GetDeviceIdResponse struct {
	Device DeviceID `csta:"device"`
}

// GetThirdPartyDeviceId asks for a device ID for third-party call control
// only (no media, no registration): what a CRM needs for a station it
// monitors without being its softphone.
type GetThirdPartyDeviceId struct {
	SwitchName string `csta:"switchName"`
	Extension  string `csta:"extension"`
}

// GetThirdPartyDeviceIdResponse carries the device ID.
type GetThirdPartyDeviceIdResponse struct {
	Device DeviceID `csta:"device"`
}

// ReleaseDeviceId gives a device ID back; AES keeps IDs (a licensed
// resource) until then or until the session ends.
type ReleaseDeviceId struct {
	Device DeviceID `csta:"device"`
}

// ReleaseDeviceIdResponse acknowledges ReleaseDeviceId.
type ReleaseDeviceIdResponse struct{}

func (*GetDeviceId) MessageName() string                   { return "GetDeviceId" }
func (*GetDeviceIdResponse) MessageName() string           { return "GetDeviceIdResponse" }
func (*GetThirdPartyDeviceId) MessageName() string         { return "GetThirdPartyDeviceId" }
func (*GetThirdPartyDeviceIdResponse) MessageName() string { return "GetThirdPartyDeviceIdResponse" }
func (*ReleaseDeviceId) MessageName() string               { return "ReleaseDeviceId" }
func (*ReleaseDeviceIdResponse) MessageName() string       { return "ReleaseDeviceIdResponse" }

func init() {
	register(
		&GetDeviceId{}, &GetDeviceIdResponse{},
		&GetThirdPartyDeviceId{}, &GetThirdPartyDeviceIdResponse{},
		&ReleaseDeviceId{}, &ReleaseDeviceIdResponse{},
	)
}
