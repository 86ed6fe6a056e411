package csta

// The message types below mirror ECMA-323's schema: each struct's fields
// are its elements in the schema's sequence order, and each tag is the
// element's name as the schema spells it. Optional elements are omitted
// when empty; elements this package does not model are skipped on decode.

// DeviceID is a device identifier exactly as the switch sends it; it is
// what addresses the device on the switch. Parse it for the dialable number.
type DeviceID string

// ConnectionID names one device's part in one call.
type ConnectionID struct {
	CallID   string   `csta:"callID"`
	DeviceID DeviceID `csta:"deviceID"`
}

// IsZero reports whether c names no connection.
func (c ConnectionID) IsZero() bool { return c.CallID == "" && c.DeviceID == "" }

// Local connection states (ECMA-269 §6.1.5), as events and snapshots carry
// them in localConnectionInfo.
const (
	StateNull      = "null"
	StateInitiated = "initiated"
	StateAlerting  = "alerting"
	StateConnected = "connected"
	StateHold      = "hold"
	StateQueued    = "queued"
	StateFail      = "fail"
)

// Agent states as SetAgentState requests them.
const (
	AgentLoggedOn         = "loggedOn"
	AgentLoggedOff        = "loggedOff"
	AgentNotReady         = "notReady"
	AgentReady            = "ready"
	AgentWorkingAfterCall = "workingAfterCall"
)

// Agent states as GetAgentStateResponse reports them.
const (
	AgentStateNull             = "agentNull"
	AgentStateNotReady         = "agentNotReady"
	AgentStateReady            = "agentReady"
	AgentStateBusy             = "agentBusy"
	AgentStateWorkingAfterCall = "agentWorkingAfterCall"
)

// ---- Monitoring and snapshot ----

// MonitorStart asks for the events of one device.
type MonitorStart struct {
	MonitorObject MonitorObject `csta:"monitorObject"`
	Extensions    Extensions    `csta:"extensions"`
}

// MonitorObject is the device to monitor.
type MonitorObject struct {
	DeviceObject DeviceID `csta:"deviceObject"`
}

// MonitorStartResponse carries the cross-reference every event of the
// monitor will carry.
type MonitorStartResponse struct {
	MonitorCrossRefID string     `csta:"monitorCrossRefID"`
	Extensions        Extensions `csta:"extensions"`
}

// MonitorStop ends a monitor.
type MonitorStop struct {
	MonitorCrossRefID string `csta:"monitorCrossRefID"`
}

// MonitorStopResponse acknowledges MonitorStop.
type MonitorStopResponse struct{}

// SnapshotDevice asks for the calls a device has now; the gateway uses it
// to resynchronise after a link loss.
type SnapshotDevice struct {
	SnapshotObject DeviceID `csta:"snapshotObject"`
}

// SnapshotDeviceResponse lists the device's calls.
type SnapshotDeviceResponse struct {
	CrossRefIDorSnapshotData SnapshotChoice `csta:"crossRefIDorSnapshotData"`
}

// Calls is a shortcut to the snapshot's entries.
func (r *SnapshotDeviceResponse) Calls() []SnapshotDeviceInfo {
	return r.CrossRefIDorSnapshotData.SnapshotData.Info
}

// SnapshotChoice is the schema's choice between the data and a
// cross-reference for data sent later as events; we ask for the data.
type SnapshotChoice struct {
	SnapshotData SnapshotData `csta:"snapshotData"`
}

func (SnapshotChoice) presence() {}

// SnapshotData is the list of calls.
type SnapshotData struct {
	Info []SnapshotDeviceInfo `csta:"snapshotDeviceResponseInfo"`
}

func (SnapshotData) presence() {}

// SnapshotDeviceInfo is one call at the device.
type SnapshotDeviceInfo struct {
	ConnectionIdentifier ConnectionID   `csta:"connectionIdentifier"`
	LocalCallState       LocalCallState `csta:"localCallState"`
}

// LocalCallState is the device's connection state in the call.
type LocalCallState struct {
	CompoundCallState CompoundCallState `csta:"compoundCallState"`
}

// CompoundCallState holds the local connection state.
type CompoundCallState struct {
	LocalConnectionState string `csta:"localConnectionState"`
}

// ---- Call control ----

// MakeCall places a call from callingDevice to calledDirectoryNumber.
type MakeCall struct {
	CallingDevice         DeviceID   `csta:"callingDevice"`
	CalledDirectoryNumber DeviceID   `csta:"calledDirectoryNumber"`
	AutoOriginate         string     `csta:"autoOriginate"` // prompt | doNotPrompt
	Extensions            Extensions `csta:"extensions"`
}

// MakeCallResponse names the calling device's new connection.
type MakeCallResponse struct {
	CallingDevice ConnectionID `csta:"callingDevice"`
	Extensions    Extensions   `csta:"extensions"`
}

// AnswerCall answers an alerting connection.
type AnswerCall struct {
	CallToBeAnswered ConnectionID `csta:"callToBeAnswered"`
}

// AnswerCallResponse acknowledges AnswerCall.
type AnswerCallResponse struct{}

// ClearConnection drops one device from a call.
type ClearConnection struct {
	ConnectionToBeCleared ConnectionID `csta:"connectionToBeCleared"`
}

// ClearConnectionResponse acknowledges ClearConnection.
type ClearConnectionResponse struct{}

// HoldCall puts a connected call on hold.
type HoldCall struct {
	CallToBeHeld ConnectionID `csta:"callToBeHeld"`
}

// HoldCallResponse acknowledges HoldCall.
type HoldCallResponse struct{}

// RetrieveCall takes a held call back.
type RetrieveCall struct {
	CallToBeRetrieved ConnectionID `csta:"callToBeRetrieved"`
}

// RetrieveCallResponse acknowledges RetrieveCall.
type RetrieveCallResponse struct{}

// SingleStepTransferCall is a blind transfer of the active call.
type SingleStepTransferCall struct {
	ActiveCall    ConnectionID `csta:"activeCall"`
	TransferredTo DeviceID     `csta:"transferredTo"`
}

// SingleStepTransferCallResponse names the call as it continues.
type SingleStepTransferCallResponse struct {
	TransferredCall ConnectionID `csta:"transferredCall"`
}

// ConsultationCall holds the existing call and calls another device.
type ConsultationCall struct {
	ExistingCall    ConnectionID `csta:"existingCall"`
	ConsultedDevice DeviceID     `csta:"consultedDevice"`
}

// ConsultationCallResponse names the new consultation call.
type ConsultationCallResponse struct {
	InitiatedCall ConnectionID `csta:"initiatedCall"`
}

// TransferCall joins the held and the active call's other parties and
// drops the transferring device.
type TransferCall struct {
	HeldCall   ConnectionID `csta:"heldCall"`
	ActiveCall ConnectionID `csta:"activeCall"`
}

// TransferCallResponse names the resulting call.
type TransferCallResponse struct {
	TransferredCall ConnectionID `csta:"transferredCall"`
}

// ConferenceCall merges the held and the active call.
type ConferenceCall struct {
	HeldCall   ConnectionID `csta:"heldCall"`
	ActiveCall ConnectionID `csta:"activeCall"`
}

// ConferenceCallResponse names the conference.
type ConferenceCallResponse struct {
	ConferenceCall ConnectionID `csta:"conferenceCall"`
}

// GenerateDigits sends DTMF on a connection.
type GenerateDigits struct {
	ConnectionToSendDigits ConnectionID `csta:"connectionToSendDigits"`
	CharactersToSend       string       `csta:"charactersToSend"`
}

// GenerateDigitsResponse acknowledges GenerateDigits.
type GenerateDigitsResponse struct{}

// ---- Device features and agents ----

// SetDoNotDisturb turns do-not-disturb on or off.
type SetDoNotDisturb struct {
	Device         DeviceID `csta:"device"`
	DoNotDisturbOn bool     `csta:"doNotDisturbOn"`
}

// SetDoNotDisturbResponse acknowledges SetDoNotDisturb.
type SetDoNotDisturbResponse struct{}

// SetAgentState changes the ACD agent state of the device's agent.
type SetAgentState struct {
	Device              DeviceID `csta:"device"`
	RequestedAgentState string   `csta:"requestedAgentState"`
	AgentID             string   `csta:"agentID"`
}

// SetAgentStateResponse acknowledges SetAgentState.
type SetAgentStateResponse struct{}

// GetAgentState asks for the device's agent state.
type GetAgentState struct {
	Device DeviceID `csta:"device"`
}

// GetAgentStateResponse lists the agents at the device.
type GetAgentStateResponse struct {
	AgentStateList AgentStateList `csta:"agentStateList"`
}

// AgentStateList is the list of agent entries.
type AgentStateList struct {
	Entries []AgentStateEntry `csta:"agentStateEntry"`
}

func (AgentStateList) presence() {}

// AgentStateEntry is one agent's state.
type AgentStateEntry struct {
	AgentID       string `csta:"agentID"`
	LoggedOnState bool   `csta:"loggedOnState"`
	AgentState    string `csta:"agentState"`
}

// ---- System and application session ----

// SystemStatus reports the switch's (or the application's) health;
// OpenScape Voice opens every link with it and repeats it as a heartbeat.
type SystemStatus struct {
	SystemStatus string `csta:"systemStatus"` // normal, initializing, messagesLost, …
}

// SystemStatusResponse answers SystemStatus.
type SystemStatusResponse struct{}

// SystemRegister asks for SystemStatus reports.
type SystemRegister struct {
	RequestTypes RequestTypes `csta:"requestTypes"`
}

// RequestTypes selects the system reports wanted.
type RequestTypes struct {
	SystemStatus bool `csta:"systemStatus"`
}

// SystemRegisterResponse carries the registration's ID.
type SystemRegisterResponse struct {
	SysStatRegisterID string `csta:"sysStatRegisterID"`
}

// Namespace of ECMA-354 application-session messages.
const NamespaceApplSession = "http://www.ecma-international.org/standards/ecma-354/appl_session"

// StartApplicationSession opens an ECMA-354 session.
type StartApplicationSession struct {
	ApplicationInfo           ApplicationInfo  `csta:"applicationInfo"`
	RequestedProtocolVersions ProtocolVersions `csta:"requestedProtocolVersions"`
	RequestedSessionDuration  int              `csta:"requestedSessionDuration"`
}

// ApplicationInfo names the application; switches that authenticate
// applications (Avaya AES) take the credentials in ApplicationSpecificInfo.
type ApplicationInfo struct {
	ApplicationID           string                  `csta:"applicationID"`
	ApplicationSpecificInfo ApplicationSpecificInfo `csta:"applicationSpecificInfo"`
}

// ApplicationSpecificInfo is ECMA-354's open slot for vendor data.
type ApplicationSpecificInfo struct {
	SessionLoginInfo *SessionLoginInfo `csta:"SessionLoginInfo"`
}

// ProtocolVersions lists acceptable CSTA namespaces.
type ProtocolVersions struct {
	ProtocolVersion []string `csta:"protocolVersion"`
}

// StartApplicationSessionPosResponse accepts the session.
type StartApplicationSessionPosResponse struct {
	SessionID             string `csta:"sessionID"`
	ActualProtocolVersion string `csta:"actualProtocolVersion"`
	ActualSessionDuration int    `csta:"actualSessionDuration"`
}

// StartApplicationSessionNegResponse refuses the session.
type StartApplicationSessionNegResponse struct {
	ErrorCode SessionErrorCode `csta:"errorCode"`
}

// SessionErrorCode says why a session request was refused.
type SessionErrorCode struct {
	DefinedError string `csta:"definedError"`
}

// StopApplicationSession ends the session.
type StopApplicationSession struct {
	SessionID        string           `csta:"sessionID"`
	SessionEndReason SessionEndReason `csta:"sessionEndReason"`
}

// SessionEndReason says why the session ends.
type SessionEndReason struct {
	DefinedEndReason string `csta:"definedEndReason"`
}

// StopApplicationSessionPosResponse acknowledges the stop.
type StopApplicationSessionPosResponse struct{}

// ResetApplicationSessionTimer keeps the session alive.
type ResetApplicationSessionTimer struct {
	SessionID                string `csta:"sessionID"`
	RequestedSessionDuration int    `csta:"requestedSessionDuration"`
}

// ResetApplicationSessionTimerPosResponse grants a new duration.
type ResetApplicationSessionTimerPosResponse struct {
	ActualSessionDuration int `csta:"actualSessionDuration"`
}

// ResetApplicationSessionTimerNegResponse refuses the reset; the session
// is gone.
type ResetApplicationSessionTimerNegResponse struct {
	ErrorCode SessionErrorCode `csta:"errorCode"`
}

// ---- Events ----

// Event is an unsolicited report of a monitored device.
type Event interface {
	Message
	CrossRefID() string
}

// EventHeader is the element every event starts with.
type EventHeader struct {
	MonitorCrossRefID string `csta:"monitorCrossRefID"`
}

// CrossRefID routes the event to its monitor.
func (h EventHeader) CrossRefID() string { return h.MonitorCrossRefID }

// ServiceInitiatedEvent: a device went off-hook or MakeCall began.
type ServiceInitiatedEvent struct {
	EventHeader
	InitiatedConnection ConnectionID `csta:"initiatedConnection"`
	InitiatingDevice    DeviceID     `csta:"initiatingDevice,dev"`
	LocalConnectionInfo string       `csta:"localConnectionInfo"`
	Cause               string       `csta:"cause"`
	Extensions          Extensions   `csta:"extensions"`
}

// OriginatedEvent: the call is being placed to the called device.
type OriginatedEvent struct {
	EventHeader
	OriginatedConnection ConnectionID `csta:"originatedConnection"`
	CallingDevice        DeviceID     `csta:"callingDevice,dev"`
	CalledDevice         DeviceID     `csta:"calledDevice,dev"`
	LocalConnectionInfo  string       `csta:"localConnectionInfo"`
	Cause                string       `csta:"cause"`
	Extensions           Extensions   `csta:"extensions"`
}

// DeliveredEvent: a device is alerting (ringing).
type DeliveredEvent struct {
	EventHeader
	Connection            ConnectionID `csta:"connection"`
	AlertingDevice        DeviceID     `csta:"alertingDevice,dev"`
	CallingDevice         DeviceID     `csta:"callingDevice,dev"`
	CalledDevice          DeviceID     `csta:"calledDevice,dev"`
	LastRedirectionDevice DeviceID     `csta:"lastRedirectionDevice,dev"`
	LocalConnectionInfo   string       `csta:"localConnectionInfo"`
	Cause                 string       `csta:"cause"`
	Extensions            Extensions   `csta:"extensions"`
}

// EstablishedEvent: a device answered.
type EstablishedEvent struct {
	EventHeader
	EstablishedConnection ConnectionID `csta:"establishedConnection"`
	AnsweringDevice       DeviceID     `csta:"answeringDevice,dev"`
	CallingDevice         DeviceID     `csta:"callingDevice,dev"`
	CalledDevice          DeviceID     `csta:"calledDevice,dev"`
	LastRedirectionDevice DeviceID     `csta:"lastRedirectionDevice,dev"`
	LocalConnectionInfo   string       `csta:"localConnectionInfo"`
	Cause                 string       `csta:"cause"`
	Extensions            Extensions   `csta:"extensions"`
}

// ConnectionClearedEvent: a device left the call.
type ConnectionClearedEvent struct {
	EventHeader
	DroppedConnection   ConnectionID `csta:"droppedConnection"`
	ReleasingDevice     DeviceID     `csta:"releasingDevice,dev"`
	LocalConnectionInfo string       `csta:"localConnectionInfo"`
	Cause               string       `csta:"cause"`
	Extensions          Extensions   `csta:"extensions"`
}

// CallClearedEvent: the whole call ended.
type CallClearedEvent struct {
	EventHeader
	ClearedCall         ConnectionID `csta:"clearedCall"`
	LocalConnectionInfo string       `csta:"localConnectionInfo"`
	Cause               string       `csta:"cause"`
	Extensions          Extensions   `csta:"extensions"`
}

// HeldEvent: a device put the call on hold.
type HeldEvent struct {
	EventHeader
	HeldConnection      ConnectionID `csta:"heldConnection"`
	HoldingDevice       DeviceID     `csta:"holdingDevice,dev"`
	LocalConnectionInfo string       `csta:"localConnectionInfo"`
	Cause               string       `csta:"cause"`
	Extensions          Extensions   `csta:"extensions"`
}

// RetrievedEvent: a held call was taken back.
type RetrievedEvent struct {
	EventHeader
	RetrievedConnection ConnectionID `csta:"retrievedConnection"`
	RetrievingDevice    DeviceID     `csta:"retrievingDevice,dev"`
	LocalConnectionInfo string       `csta:"localConnectionInfo"`
	Cause               string       `csta:"cause"`
	Extensions          Extensions   `csta:"extensions"`
}

// ConnectionListItem maps an old connection to its new one after a
// transfer or conference.
type ConnectionListItem struct {
	NewConnection ConnectionID `csta:"newConnection"`
	OldConnection ConnectionID `csta:"oldConnection"`
	Endpoint      Endpoint     `csta:"endpoint"`
}

// Endpoint is the device at the end of a listed connection.
type Endpoint struct {
	DeviceID DeviceID `csta:"deviceID"`
}

// ConnectionList lists connections after a transfer or conference.
type ConnectionList struct {
	Items []ConnectionListItem `csta:"connectionListItem"`
}

// TransferedEvent (one r, as the schema spells it): the call was transferred.
type TransferedEvent struct {
	EventHeader
	PrimaryOldCall         ConnectionID   `csta:"primaryOldCall"`
	SecondaryOldCall       ConnectionID   `csta:"secondaryOldCall"`
	TransferringDevice     DeviceID       `csta:"transferringDevice,dev"`
	TransferredToDevice    DeviceID       `csta:"transferredToDevice,dev"`
	TransferredConnections ConnectionList `csta:"transferredConnections"`
	LocalConnectionInfo    string         `csta:"localConnectionInfo"`
	Cause                  string         `csta:"cause"`
	Extensions             Extensions     `csta:"extensions"`
}

// ConferencedEvent: two calls were merged.
type ConferencedEvent struct {
	EventHeader
	PrimaryOldCall        ConnectionID   `csta:"primaryOldCall"`
	SecondaryOldCall      ConnectionID   `csta:"secondaryOldCall"`
	ConferencingDevice    DeviceID       `csta:"conferencingDevice,dev"`
	AddedParty            DeviceID       `csta:"addedParty,dev"`
	ConferenceConnections ConnectionList `csta:"conferenceConnections"`
	LocalConnectionInfo   string         `csta:"localConnectionInfo"`
	Cause                 string         `csta:"cause"`
	Extensions            Extensions     `csta:"extensions"`
}

// DivertedEvent: the call left a device for another (forwarding, DND).
type DivertedEvent struct {
	EventHeader
	Connection            ConnectionID `csta:"connection"`
	DivertingDevice       DeviceID     `csta:"divertingDevice,dev"`
	NewDestination        DeviceID     `csta:"newDestination,dev"`
	CallingDevice         DeviceID     `csta:"callingDevice,dev"`
	CalledDevice          DeviceID     `csta:"calledDevice,dev"`
	LastRedirectionDevice DeviceID     `csta:"lastRedirectionDevice,dev"`
	LocalConnectionInfo   string       `csta:"localConnectionInfo"`
	Cause                 string       `csta:"cause"`
	Extensions            Extensions   `csta:"extensions"`
}

// FailedEvent: the call could not be completed.
type FailedEvent struct {
	EventHeader
	FailedConnection      ConnectionID `csta:"failedConnection"`
	FailingDevice         DeviceID     `csta:"failingDevice,dev"`
	CallingDevice         DeviceID     `csta:"callingDevice,dev"`
	CalledDevice          DeviceID     `csta:"calledDevice,dev"`
	LastRedirectionDevice DeviceID     `csta:"lastRedirectionDevice,dev"`
	LocalConnectionInfo   string       `csta:"localConnectionInfo"`
	Cause                 string       `csta:"cause"`
	Extensions            Extensions   `csta:"extensions"`
}

// DoNotDisturbEvent: do-not-disturb changed at the device.
type DoNotDisturbEvent struct {
	EventHeader
	Device         DeviceID   `csta:"device,dev"`
	DoNotDisturbOn bool       `csta:"doNotDisturbOn"`
	Extensions     Extensions `csta:"extensions"`
}

// AgentEventBody is shared by the Agent* events.
type AgentEventBody struct {
	AgentDevice DeviceID   `csta:"agentDevice,dev"`
	AgentID     string     `csta:"agentID"`
	Extensions  Extensions `csta:"extensions"`
}

// AgentLoggedOnEvent: an agent logged on at the device.
type AgentLoggedOnEvent struct {
	EventHeader
	AgentEventBody
}

// AgentLoggedOffEvent: the agent logged off.
type AgentLoggedOffEvent struct {
	EventHeader
	AgentEventBody
}

// AgentReadyEvent: the agent is ready for calls (Available).
type AgentReadyEvent struct {
	EventHeader
	AgentEventBody
}

// AgentNotReadyEvent: the agent is not ready (Busy).
type AgentNotReadyEvent struct {
	EventHeader
	AgentEventBody
}

// AgentWorkingAfterCallEvent: the agent is in wrap-up.
type AgentWorkingAfterCallEvent struct {
	EventHeader
	AgentEventBody
}

func (*MonitorStart) MessageName() string                   { return "MonitorStart" }
func (*MonitorStartResponse) MessageName() string           { return "MonitorStartResponse" }
func (*MonitorStop) MessageName() string                    { return "MonitorStop" }
func (*MonitorStopResponse) MessageName() string            { return "MonitorStopResponse" }
func (*SnapshotDevice) MessageName() string                 { return "SnapshotDevice" }
func (*SnapshotDeviceResponse) MessageName() string         { return "SnapshotDeviceResponse" }
func (*MakeCall) MessageName() string                       { return "MakeCall" }
func (*MakeCallResponse) MessageName() string               { return "MakeCallResponse" }
func (*AnswerCall) MessageName() string                     { return "AnswerCall" }
func (*AnswerCallResponse) MessageName() string             { return "AnswerCallResponse" }
func (*ClearConnection) MessageName() string                { return "ClearConnection" }
func (*ClearConnectionResponse) MessageName() string        { return "ClearConnectionResponse" }
func (*HoldCall) MessageName() string                       { return "HoldCall" }
func (*HoldCallResponse) MessageName() string               { return "HoldCallResponse" }
func (*RetrieveCall) MessageName() string                   { return "RetrieveCall" }
func (*RetrieveCallResponse) MessageName() string           { return "RetrieveCallResponse" }
func (*SingleStepTransferCall) MessageName() string         { return "SingleStepTransferCall" }
func (*SingleStepTransferCallResponse) MessageName() string { return "SingleStepTransferCallResponse" }
func (*ConsultationCall) MessageName() string               { return "ConsultationCall" }
func (*ConsultationCallResponse) MessageName() string       { return "ConsultationCallResponse" }
func (*TransferCall) MessageName() string                   { return "TransferCall" }
func (*TransferCallResponse) MessageName() string           { return "TransferCallResponse" }
func (*ConferenceCall) MessageName() string                 { return "ConferenceCall" }
func (*ConferenceCallResponse) MessageName() string         { return "ConferenceCallResponse" }
func (*GenerateDigits) MessageName() string                 { return "GenerateDigits" }
func (*GenerateDigitsResponse) MessageName() string         { return "GenerateDigitsResponse" }
func (*SetDoNotDisturb) MessageName() string                { return "SetDoNotDisturb" }
func (*SetDoNotDisturbResponse) MessageName() string        { return "SetDoNotDisturbResponse" }
func (*SetAgentState) MessageName() string                  { return "SetAgentState" }
func (*SetAgentStateResponse) MessageName() string          { return "SetAgentStateResponse" }
func (*GetAgentState) MessageName() string                  { return "GetAgentState" }
func (*GetAgentStateResponse) MessageName() string          { return "GetAgentStateResponse" }
func (*SystemStatus) MessageName() string                   { return "SystemStatus" }
func (*SystemStatusResponse) MessageName() string           { return "SystemStatusResponse" }
func (*SystemRegister) MessageName() string                 { return "SystemRegister" }
func (*SystemRegisterResponse) MessageName() string         { return "SystemRegisterResponse" }
func (*StartApplicationSession) MessageName() string        { return "StartApplicationSession" }
func (*StartApplicationSessionPosResponse) MessageName() string {
	return "StartApplicationSessionPosResponse"
}
func (*StartApplicationSessionNegResponse) MessageName() string {
	return "StartApplicationSessionNegResponse"
}
func (*StopApplicationSession) MessageName() string { return "StopApplicationSession" }
func (*StopApplicationSessionPosResponse) MessageName() string {
	return "StopApplicationSessionPosResponse"
}
func (*ResetApplicationSessionTimer) MessageName() string { return "ResetApplicationSessionTimer" }
func (*ResetApplicationSessionTimerPosResponse) MessageName() string {
	return "ResetApplicationSessionTimerPosResponse"
}
func (*ResetApplicationSessionTimerNegResponse) MessageName() string {
	return "ResetApplicationSessionTimerNegResponse"
}
func (*ServiceInitiatedEvent) MessageName() string      { return "ServiceInitiatedEvent" }
func (*OriginatedEvent) MessageName() string            { return "OriginatedEvent" }
func (*DeliveredEvent) MessageName() string             { return "DeliveredEvent" }
func (*EstablishedEvent) MessageName() string           { return "EstablishedEvent" }
func (*ConnectionClearedEvent) MessageName() string     { return "ConnectionClearedEvent" }
func (*CallClearedEvent) MessageName() string           { return "CallClearedEvent" }
func (*HeldEvent) MessageName() string                  { return "HeldEvent" }
func (*RetrievedEvent) MessageName() string             { return "RetrievedEvent" }
func (*TransferedEvent) MessageName() string            { return "TransferedEvent" }
func (*ConferencedEvent) MessageName() string           { return "ConferencedEvent" }
func (*DivertedEvent) MessageName() string              { return "DivertedEvent" }
func (*FailedEvent) MessageName() string                { return "FailedEvent" }
func (*DoNotDisturbEvent) MessageName() string          { return "DoNotDisturbEvent" }
func (*AgentLoggedOnEvent) MessageName() string         { return "AgentLoggedOnEvent" }
func (*AgentLoggedOffEvent) MessageName() string        { return "AgentLoggedOffEvent" }
func (*AgentReadyEvent) MessageName() string            { return "AgentReadyEvent" }
func (*AgentNotReadyEvent) MessageName() string         { return "AgentNotReadyEvent" }
func (*AgentWorkingAfterCallEvent) MessageName() string { return "AgentWorkingAfterCallEvent" }
func (*CSTAErrorCode) MessageName() string              { return "CSTAErrorCode" }

func init() {
	register(
		&MonitorStart{}, &MonitorStartResponse{}, &MonitorStop{}, &MonitorStopResponse{},
		&SnapshotDevice{}, &SnapshotDeviceResponse{},
		&MakeCall{}, &MakeCallResponse{}, &AnswerCall{}, &AnswerCallResponse{},
		&ClearConnection{}, &ClearConnectionResponse{}, &HoldCall{}, &HoldCallResponse{},
		&RetrieveCall{}, &RetrieveCallResponse{},
		&SingleStepTransferCall{}, &SingleStepTransferCallResponse{},
		&ConsultationCall{}, &ConsultationCallResponse{}, &TransferCall{}, &TransferCallResponse{},
		&ConferenceCall{}, &ConferenceCallResponse{}, &GenerateDigits{}, &GenerateDigitsResponse{},
		&SetDoNotDisturb{}, &SetDoNotDisturbResponse{}, &SetAgentState{}, &SetAgentStateResponse{},
		&GetAgentState{}, &GetAgentStateResponse{},
		&SystemStatus{}, &SystemStatusResponse{}, &SystemRegister{}, &SystemRegisterResponse{},
		&StartApplicationSession{}, &StartApplicationSessionPosResponse{}, &StartApplicationSessionNegResponse{},
		&StopApplicationSession{}, &StopApplicationSessionPosResponse{},
		&ResetApplicationSessionTimer{}, &ResetApplicationSessionTimerPosResponse{}, &ResetApplicationSessionTimerNegResponse{},
		&ServiceInitiatedEvent{}, &OriginatedEvent{}, &DeliveredEvent{}, &EstablishedEvent{},
		&ConnectionClearedEvent{}, &CallClearedEvent{}, &HeldEvent{}, &RetrievedEvent{},
		&TransferedEvent{}, &ConferencedEvent{}, &DivertedEvent{}, &FailedEvent{}, &DoNotDisturbEvent{},
		&AgentLoggedOnEvent{}, &AgentLoggedOffEvent{}, &AgentReadyEvent{}, &AgentNotReadyEvent{},
		&AgentWorkingAfterCallEvent{}, &CSTAErrorCode{},
	)
}

// WithDevice returns the same call at another device.
func (c ConnectionID) WithDevice(d DeviceID) ConnectionID {
	return ConnectionID{CallID: c.CallID, DeviceID: d}
}
