// The tile dialect: Roller's rTiles and rPrograms, Welder's edge levels.
irdl.dialect @tile {
  // One tile shape at one memory level, one extent per loop of the operator's iteration space.
  irdl.attribute @rtile {
    %level = irdl.base "#builtin.string"
    %shape = irdl.base "#builtin.dense_array"
    irdl.parameters(level: %level, shape: %shape)
  }
  // One rTile per memory level, outermost level first, plus shared-memory padding per input.
  irdl.attribute @rprogram {
    %tiles = irdl.base "#builtin.array"
    %pad = irdl.base "#builtin.dense_array"
    irdl.parameters(tiles: %tiles, smem_pad: %pad)
  }
}
