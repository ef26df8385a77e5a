package autobahn

import (
	"fmt"
	"strings"
)

func init() { register(cases13()...) }

// cases13 is section 13: permessage-deflate with every combination of
// context takeover and window size the original requests. As a client the
// suite offers these (requestNoContextTakeover, requestMaxWindowBits) pairs
// of the server; as a server it asks them of the client, which needs a
// client offering client_max_window_bits for a window.
func cases13() []*Case {
	params := [][][2]int{
		{{0, 0}},
		{{1, 0}},
		{{0, 9}},
		{{0, 15}},
		{{1, 9}},
		{{1, 15}},
		{{1, 9}, {1, 0}, {0, 0}},
	}
	var cs []*Case
	for sub, ps := range params {
		var offer, names []string
		for _, p := range ps {
			offer = append(offer, pmceOffer(p[0] != 0, p[1]))
			names = append(names, fmt.Sprintf("(%v, %d)", p[0] != 0, p[1]))
		}
		how := "Use the (no context takeover, max window bits) parameters " + strings.Join(names, ", ")
		for i, sz := range pmceSizes {
			cs = append(cs, pmceCase(fmt.Sprintf("13.%d.%d", sub+1, i+1),
				pmceDescription(pmceCorpora[0], sz[0], sz[1], how), pmceCorpora[0], sz[0], sz[1],
				offer, pmceAccept(ps...)))
		}
	}
	return cs
}
