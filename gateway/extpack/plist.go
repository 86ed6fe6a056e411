package extpack

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
)

// plistValue writes v as an XML property list value: maps become <dict>
// with sorted keys, slices <array>, and strings, ints, floats and bools
// their own elements.
func plistValue(b *bytes.Buffer, v any, depth int) {
	pad := strings.Repeat("\t", depth)
	switch v := v.(type) {
	case map[string]any:
		b.WriteString(pad + "<dict>\n")
		for _, k := range sortedKeys(v) {
			fmt.Fprintf(b, "%s\t<key>%s</key>\n", pad, xmlText(k))
			plistValue(b, v[k], depth+1)
		}
		b.WriteString(pad + "</dict>\n")
	case []any:
		b.WriteString(pad + "<array>\n")
		for _, item := range v {
			plistValue(b, item, depth+1)
		}
		b.WriteString(pad + "</array>\n")
	case []string:
		items := make([]any, len(v))
		for i, s := range v {
			items[i] = s
		}
		plistValue(b, items, depth)
	case bool:
		fmt.Fprintf(b, "%s<%t/>\n", pad, v)
	case int:
		fmt.Fprintf(b, "%s<integer>%d</integer>\n", pad, v)
	case float64:
		if v == float64(int64(v)) {
			fmt.Fprintf(b, "%s<integer>%d</integer>\n", pad, int64(v))
		} else {
			fmt.Fprintf(b, "%s<real>%g</real>\n", pad, v)
		}
	default:
		fmt.Fprintf(b, "%s<string>%s</string>\n", pad, xmlText(fmt.Sprint(v)))
	}
}

func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
