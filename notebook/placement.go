package notebook

// Placement is a bench cell's placement key: "auto" (also when the cell
// does not say), "none", or both sides named, "sut=CPUS,load=CPUS". The
// key's declaration (schema.go) checks its form; the runner plans it on
// the machine.
func (c *Cell) Placement() string {
	if s, ok := c.raw["placement"].(string); ok && s != "" {
		return s
	}
	return "auto"
}

// placementPattern is the form of a bench cell's placement: auto, none,
// or sut= and load= each with a CPU list ("0-1,4"); the runner checks the
// CPUs against the machine.
const placementPattern = `^(auto|none|(sut|load)=` + cpuList + `,(sut|load)=` + cpuList + `)$`

const cpuList = `[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*`
