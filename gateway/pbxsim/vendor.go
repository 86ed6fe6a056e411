package pbxsim

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"

	"crmcti/gateway/csta"
)

// Vendor profiles: how the simulated switch opens a link and names its
// devices. Each follows what that vendor's switch sends, so that the
// gateway's tests fail against the simulator where they would fail
// against the real switch (DESIGN.md §8: a simulator written to agree with
// us proves nothing).
const (
	// VendorDefault is what pbxsim always did: an OpenScape-style session,
	// extensions named as they are everywhere, outside numbers as N<…>.
	VendorDefault = "default"
	// VendorOpenScape is OpenScape Voice (its Interface Manual, Volume 4,
	// CSTA Interface, A31003-H8090-T103; the frames captured from a real
	// switch in gateway/csta/testdata/captures; issue 10): ed4,
	// SystemStatus/SystemRegister and SystemStatus heartbeats both ways;
	// devices known by their full
	// number (Config.DeviceTemplate), named N<number>;noa=nk in event device
	// fields but bare in connections; outside callers decorated with
	// Line…;displayNumber=…;uid=….
	VendorOpenScape = "openscape"
	// VendorAvaya is Avaya AES (DMCC): ECMA-354 session refused without
	// valid SessionLoginInfo, ed3 with Avaya private data, devices
	// addressed only by the IDs GetDeviceId hands out
	// ("1001:CM1:10.0.0.1:0"), sessions recoverable within their cleanup
	// delay.
	VendorAvaya = "avaya"
	// VendorECMA354 is a plain ECMA-323 switch (ed5) with an ECMA-354
	// application session; devices as they are.
	VendorECMA354 = "ecma354"
	// VendorNone is a plain ECMA-323 switch (ed4) with no session at all.
	VendorNone = "none"
)

// naming is how a profile names devices on the wire.
type naming int

const (
	namingPlain     naming = iota // as they are (N<…> for outside numbers on OpenScape sessions)
	namingOpenScape               // full numbers, N<…>;noa=nk in device fields
	namingAvaya                   // DMCC device IDs
)

// vendorLinks is each vendor's link profile and device naming.
var vendorLinks = map[string]struct {
	link   string // a csta profile name, or "" for the avaya one below
	naming naming
}{
	VendorDefault:   {"openscape", namingPlain},
	VendorOpenScape: {"openscape", namingOpenScape},
	VendorAvaya:     {"", namingAvaya},
	VendorECMA354:   {"ecma354", namingPlain},
	VendorNone:      {"none", namingPlain},
	"alcatel-oxo":   {"alcatel-oxo", namingPlain},
}

// Vendors lists the vendor profiles the simulator plays.
func Vendors() []string {
	out := make([]string, 0, len(vendorLinks))
	for n := range vendorLinks {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// vendorProfile returns the link profile and device naming of a vendor.
func vendorProfile(name string) (csta.Profile, naming, error) {
	v, ok := vendorLinks[name]
	if !ok {
		return csta.Profile{}, 0, fmt.Errorf("pbxsim: unknown profile %q (known: %v)", name, Vendors())
	}
	if v.naming == namingAvaya {
		// DMCC speaks ECMA-323 edition 3; the application picks the
		// private-data version (ed3/privN) in StartApplicationSession.
		return csta.Profile{Name: VendorAvaya, Session: csta.SessionECMA354, Namespace: csta.NamespaceEd3}, v.naming, nil
	}
	p, err := csta.LookupProfile(v.link)
	return p, v.naming, err
}

// ---- Device naming ----

// fullNumber is the number an OpenScape switch knows an extension's device
// by: the template with {ext} replaced ("3572210{ext}": 1001 ->
// 35722101001).
func (s *Sim) fullNumber(ext string) string {
	return strings.ReplaceAll(s.cfg.DeviceTemplate, "{ext}", ext)
}

// dmccID is the DMCC device ID of an extension
// (extension:switch name:switch address:instance, "1001:CM1:10.0.0.1:0"),
// or of an outside number, which has no switch address ("+35722123456:CM1::0").
func (s *Sim) dmccID(dev string) csta.DeviceID {
	if s.isExtension(dev) {
		return csta.DeviceID(dev + ":" + s.cfg.SwitchName + ":" + s.cfg.SwitchIP + ":0")
	}
	return csta.DeviceID(dev + ":" + s.cfg.SwitchName + "::0")
}

// present is how a device appears in an event's device fields
// (alertingDevice, callingDevice, …).
func (s *Sim) present(dev string) csta.DeviceID {
	if dev == "" {
		return ""
	}
	switch s.naming {
	case namingOpenScape:
		if s.isExtension(dev) {
			// As OpenScape Voice writes a subscriber (issue 10; the capture
			// openscape-voice-ServiceInitiatedEvent.frame).
			return csta.DeviceID("N<" + s.fullNumber(dev) + ">;noa=nk")
		}
		return s.openScapeCaller(dev)
	case namingAvaya:
		return s.dmccID(dev)
	}
	if s.isExtension(dev) || s.cfg.Profile.Session != csta.SessionOpenScape {
		return csta.DeviceID(dev)
	}
	return csta.DeviceID("N<" + dev + ">")
}

// openScapeCaller is an outside party as OpenScape Voice presents it: the
// number, the trunk line, the number to display and a unique ID
// (`N<7868772298>Line71001;displayNumber=7868772298;uid=…`, issue 10).
func (s *Sim) openScapeCaller(num string) csta.DeviceID {
	h := fnv.New32a()
	h.Write([]byte(num))
	return csta.DeviceID(fmt.Sprintf("N<%s>Line7%04d;displayNumber=%s;uid=%08x", num, h.Sum32()%10000, num, h.Sum32()))
}

// connDevice is how a device appears in a connection ID: OpenScape Voice
// puts the bare number there even where the device fields carry N<…>
// (the captures in gateway/csta/testdata/captures); DMCC its device ID.
func (s *Sim) connDevice(dev string) csta.DeviceID {
	switch s.naming {
	case namingOpenScape:
		if s.isExtension(dev) {
			return csta.DeviceID(s.fullNumber(dev))
		}
		return csta.DeviceID(dev)
	case namingAvaya:
		return s.dmccID(dev)
	}
	return s.present(dev)
}

// extensionOf finds the extension a device identifier names in the
// profile's own form: the full number (bare or N<…>) on OpenScape, a DMCC
// ID on Avaya, the extension itself otherwise.
func (s *Sim) extensionOf(id csta.DeviceID) (string, bool) {
	switch s.naming {
	case namingOpenScape:
		ext, ok := s.byFull[strings.TrimPrefix(csta.ParseDevice(id).Number, "+")]
		return ext, ok
	case namingAvaya:
		return s.parseDMCC(string(id))
	}
	if s.isExtension(string(id)) {
		return string(id), true
	}
	return "", false
}

// parseDMCC takes the extension out of a DMCC device ID of this switch.
func (s *Sim) parseDMCC(id string) (string, bool) {
	parts := strings.Split(id, ":")
	if len(parts) != 4 || parts[1] != s.cfg.SwitchName || !s.isExtension(parts[0]) {
		return "", false
	}
	return parts[0], true
}

// dialled is the model's name for a number someone dials (MakeCall's
// called number, a consultation or transfer destination): every switch's
// dial plan takes the short extension as well as its own forms.
func (s *Sim) dialled(id csta.DeviceID) string {
	if ext, ok := s.extensionOf(id); ok {
		return ext
	}
	if s.isExtension(string(id)) {
		return string(id)
	}
	return csta.ParseDevice(id).Number
}

// party is the model's name for the device of a connection ID in a
// request; on OpenScape and Avaya an extension must be named as the
// switch names it in connections, so a bare "1001" names nobody.
func (s *Sim) party(id csta.DeviceID) string {
	if ext, ok := s.extensionOf(id); ok {
		return ext
	}
	if s.isExtension(string(id)) {
		return "" // a short extension where the switch wants its own form
	}
	return csta.ParseDevice(id).Number
}

// resolve maps any name of a device (extension, full number, DMCC ID) to
// its extension, for the control API; anything else is returned as it is.
func (s *Sim) resolve(dev string) string {
	if s.isExtension(dev) {
		return dev
	}
	if ext, ok := s.extensionOf(csta.DeviceID(dev)); ok {
		return ext
	}
	return dev
}

// newCallID is a call ID in the vendor's style: OpenScape Voice's 32 hex
// digits (as in the captures), Communication Manager's small decimal
// numbers, or 16 hex digits.
func (s *Sim) newCallID() string {
	for {
		s.nextCall++
		var id string
		switch s.naming {
		case namingOpenScape:
			id = fmt.Sprintf("FF0001000000%016X0000", s.nextCall)
		case namingAvaya:
			id = strconv.FormatUint(s.nextCall%100000+1, 10)
		default:
			id = fmt.Sprintf("%016X", s.nextCall)
		}
		if _, taken := s.calls[id]; !taken {
			return id
		}
	}
}
