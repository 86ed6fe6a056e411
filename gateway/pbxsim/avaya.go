package pbxsim

import (
	"crypto/rand"
	"encoding/hex"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"crmcti/gateway/csta"
)

// The avaya profile's DMCC services. What AES does here is taken from
// Avaya's "AE Services DMCC XML Programmer's Guide" and the DMCC .NET
// reference (devconnectprogram.com, ServiceProvider.StartApplicationSession
// and IDevice.GetDeviceId: credentials and sessionCleanupDelay in the
// session request; extension plus switch name for a device ID), and from
// public DMCC clients and simulators (rresender/csta-integration,
// Ratcow.Csta's DMCC server: GetDeviceId on an unknown extension or switch
// is refused with operation/invalidDeviceID; an unsupported protocol
// version with requestedProtocolVersionNotSupported).

// defaultCleanupDelay is what AES keeps a session whose application asked
// for no cleanup delay.
const defaultCleanupDelay = 60 * time.Second

// parkedSession is a DMCC session whose link was lost: AES keeps its
// device IDs and monitors for the cleanup delay, and an application that
// starts a session naming it gets them back (events in between are lost).
type parkedSession struct {
	user     string
	ns       string
	cleanup  time.Duration
	monitors map[string]*monitor
	devices  map[string]string
}

// startDMCCSession opens, or recovers, a DMCC session. Without the
// configured user and password in SessionLoginInfo it is refused, as AES
// refuses it.
func (s *Sim) startDMCCSession(lk *link, m *csta.StartApplicationSession) csta.Message {
	info := m.ApplicationInfo.ApplicationSpecificInfo.SessionLoginInfo
	if info == nil || info.UserName != s.cfg.User || info.Password != s.cfg.Password {
		s.log.Warn("pbxsim: DMCC session refused: no valid SessionLoginInfo", "peer", lk.nc.RemoteAddr().String())
		return sessionRefused("invalidApplicationInfo")
	}
	ver := s.cfg.Profile.Namespace
	if v := m.RequestedProtocolVersions.ProtocolVersion; len(v) > 0 {
		ver = v[0]
	}
	if ver != csta.NamespaceEd3 && !strings.HasPrefix(ver, csta.NamespaceEd3+"/priv") {
		return sessionRefused("requestedProtocolVersionNotSupported")
	}
	if info.SessionID != "" {
		if !s.recoverSessionLocked(lk, info.SessionID, info.UserName) {
			return sessionRefused("invalidSessionID")
		}
	} else {
		lk.session, lk.ns, lk.user = newDMCCSessionID(), ver, info.UserName
		lk.cleanup = defaultCleanupDelay
		if info.SessionCleanupDelay > 0 {
			lk.cleanup = time.Duration(info.SessionCleanupDelay) * time.Second
		}
	}
	lk.nsFixed = true
	d := m.RequestedSessionDuration
	if d <= 0 {
		d = 180
	}
	lk.sessionEnd = time.Now().Add(time.Duration(d) * time.Second)
	return &csta.StartApplicationSessionPosResponse{SessionID: lk.session, ActualProtocolVersion: lk.ns, ActualSessionDuration: d}
}

func sessionRefused(why string) csta.Message {
	return &csta.StartApplicationSessionNegResponse{ErrorCode: csta.SessionErrorCode{DefinedError: why}}
}

// newDMCCSessionID makes a session ID in AES's style: 32 hex digits and a
// counter.
func newDMCCSessionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b)) + "-1"
}

// recoverSessionLocked gives lk the parked session id, with its device
// IDs and monitors, if it is still kept and belongs to user.
func (s *Sim) recoverSessionLocked(lk *link, id, user string) bool {
	p, ok := s.parked[id]
	if !ok || p.user != user {
		return false
	}
	delete(s.parked, id)
	lk.session, lk.ns, lk.user, lk.cleanup = id, p.ns, p.user, p.cleanup
	lk.monitors, lk.deviceIDs = p.monitors, p.devices
	for _, m := range p.monitors {
		m.link = lk
	}
	s.log.Info("pbxsim: DMCC session recovered", "session", id, "monitors", len(p.monitors))
	return true
}

// parkSessionLocked keeps a lost link's DMCC session for its cleanup
// delay; it reports false when there is nothing to keep.
func (s *Sim) parkSessionLocked(lk *link) bool {
	if s.naming != namingAvaya || lk.session == "" || lk.cleanup <= 0 || s.closed {
		return false
	}
	p := &parkedSession{user: lk.user, ns: lk.ns, cleanup: lk.cleanup, monitors: lk.monitors, devices: lk.deviceIDs}
	for _, m := range p.monitors {
		m.link = nil
	}
	id := lk.session
	s.parked[id] = p
	s.afterLocked(lk.cleanup, func() {
		if s.parked[id] != p {
			return // recovered meanwhile
		}
		delete(s.parked, id)
		for _, m := range p.monitors {
			s.removeMonitorLocked(m)
		}
		s.log.Info("pbxsim: DMCC session cleaned up", "session", id)
	})
	return true
}

func (s *Sim) getDeviceID(lk *link, m *csta.GetDeviceId) (csta.Message, error) {
	id, err := s.obtainDeviceID(lk, m.SwitchName, m.Extension)
	if err != nil {
		return nil, err
	}
	return &csta.GetDeviceIdResponse{Device: id}, nil
}

func (s *Sim) getThirdPartyDeviceID(lk *link, m *csta.GetThirdPartyDeviceId) (csta.Message, error) {
	id, err := s.obtainDeviceID(lk, m.SwitchName, m.Extension)
	if err != nil {
		return nil, err
	}
	return &csta.GetThirdPartyDeviceIdResponse{Device: id}, nil
}

// obtainDeviceID hands out the DMCC device ID of an extension on this
// switch and records it as the session's.
func (s *Sim) obtainDeviceID(lk *link, switchName, ext string) (csta.DeviceID, error) {
	if s.naming != namingAvaya {
		return "", csta.NewError(csta.ErrCatOperation, "generic") // not a DMCC server
	}
	if switchName != s.cfg.SwitchName || !s.isExtension(ext) {
		return "", csta.NewError(csta.ErrCatOperation, "invalidDeviceID")
	}
	id := s.dmccID(ext)
	lk.deviceIDs[string(id)] = ext
	return id, nil
}

func (s *Sim) releaseDeviceID(lk *link, m *csta.ReleaseDeviceId) (csta.Message, error) {
	if _, ok := lk.deviceIDs[string(m.Device)]; !ok || s.naming != namingAvaya {
		return nil, csta.NewError(csta.ErrCatOperation, "invalidDeviceID")
	}
	delete(lk.deviceIDs, string(m.Device))
	return &csta.ReleaseDeviceIdResponse{}, nil
}

// addAvayaPrivateData puts into an event the private data AES sends with
// it (<extensions><privateData><private> with an xsi:typed element in
// Avaya's namespace), here the universal call ID of ringing and answered
// calls: what the gateway must carry without needing.
func addAvayaPrivateData(ev csta.Event) {
	var callID string
	switch e := ev.(type) {
	case *csta.DeliveredEvent:
		callID = e.Connection.CallID
	case *csta.EstablishedEvent:
		callID = e.EstablishedConnection.CallID
	default:
		return
	}
	ext := etree.NewElement("extensions")
	priv := ext.CreateElement("privateData").CreateElement("private")
	typ := ev.MessageName() + "PrivateData"
	el := priv.CreateElement("ns1:" + typ)
	el.CreateAttr("xmlns:ns1", csta.NamespaceAvaya)
	el.CreateAttr("xmlns:xsi", csta.NamespaceXSI)
	el.CreateAttr("xsi:type", "ns1:"+typ)
	n, _ := strconv.ParseUint(callID, 10, 64)
	el.CreateElement("ns1:ucid").SetText("00001" + leftPad(strconv.FormatUint(n, 10), 15))
	reflect.ValueOf(ev).Elem().FieldByName("Extensions").Set(reflect.ValueOf(csta.Extensions{Element: ext}))
}

func leftPad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return strings.Repeat("0", n-len(s)) + s
}
