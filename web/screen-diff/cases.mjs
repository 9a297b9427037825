// Hand-written byte streams for the differential harness: one or more per
// feature the server's screen must carry into a snapshot. Each is
// [name, stream] (80x24) or [name, stream, cols, rows]. Streams end with
// the feature still in effect where that matters (a late joiner arrives
// in the middle of a program, not after it cleaned up).

const E = '\x1b';
const CSI = `${E}[`;
const OSC = `${E}]`;
const x80 = 'x'.repeat(80);

export const cases = [
  // SGR
  ['sgr-basic', `${CSI}1mbold${CSI}22m ${CSI}3mitalic${CSI}23m ${CSI}4munder${CSI}24m ${CSI}7minverse${CSI}27m ${CSI}2mdim${CSI}m`],
  ['sgr-colours', `${CSI}31mred${CSI}42mgreen-bg${CSI}91mbright${CSI}104mbright-bg${CSI}38;5;200m256${CSI}48;5;17mbg256${CSI}38;2;1;2;3mrgb${CSI}48;2;250;251;252mrgbbg${CSI}39;49mdefault`],
  ['sgr-invisible', `a${CSI}8mhidden${CSI}28mshown ${CSI}8msecret-left-on`],
  ['sgr-strike-blink-overline', `${CSI}9mstrike${CSI}29m ${CSI}5mblink${CSI}25m ${CSI}53mover${CSI}55m ${CSI}9;5;53mall-left-on`],
  ['sgr-underline-styles', `${CSI}4:1mone ${CSI}4:2mtwo ${CSI}21mdbl ${CSI}4:3mcurly ${CSI}4:4mdot ${CSI}4:5mdash ${CSI}4:0mnone ${CSI}4mplain${CSI}24m end ${CSI}4:3mleft-on`],
  ['sgr-bold-dim', `${CSI}1;2mbolddim${CSI}22m normal ${CSI}2;1mboth-left-on`],
  ['sgr-colon-rgb', `${CSI}38:2::10:20:30mfg ${CSI}48:2::40:50:60mbg ${CSI}38:5:123mi ${CSI}48:5:200mj ${CSI}38:2:0:70:80:90mcs`],
  ['sgr-colon-curly-colour', `${CSI}4:3;58;5;6mcurly-cyan-line${CSI}m ${CSI}58:2::255:0:0m${CSI}4:3mred-curly`],
  ['sgr-underline-colour', `${CSI}4;58;5;9mx${CSI}59my ${CSI}58:2::1:2:3mz${CSI}58;2;4;5;6mw${CSI}58:5:77mv`],
  ['sgr-reset-mix', `${CSI}1;3;4;5;7;8;9;53;31;42mall${CSI}0mnone${CSI}1;31m${CSI}mreset`],
  // OSC 8 hyperlinks
  ['osc8-links', `${OSC}8;;https://example.com/a\x07link-a${OSC}8;;\x07 plain ${OSC}8;id=x;http://b.example${E}\\link-b${OSC}8;;${E}\\ ${OSC}8;;https://c.example\x07open-link`],
  // Charsets
  ['charset-dec-box', `${E}(0lqqqk\r\nx   x\r\nmqqqj${E}(B abc`],
  ['charset-dec-left-on', `${E}(0lqk`],
  ['charset-g1-so-si', `${E})0\x0elqk\x0fabc\x0elq`],
  ['charset-g2-g3', `${E}*0${E}+0${E}nlqk${E}oxx\x0fplain${E}n`],
  ['charset-uk', `${E}(A#abc${E}(B#`],
  // Tab stops
  ['tabs-custom', `${CSI}3g${CSI}5G${E}H${CSI}20G${E}H${CSI}33G${E}H\r\tA\tB\tC${CSI}20G${CSI}0g\r\n\ta\tb`],
  ['tabs-cleared', `${CSI}3g\r\ta`],
  // Modes
  ['autowrap-off', `${CSI}?7l${'y'.repeat(100)}\r\nabc`],
  ['insert-mode', `abcdef${CSI}1G${CSI}4hXY`],
  ['origin-mode', `${CSI}5;10r${CSI}?6h${CSI}HA${CSI}3;3HB`],
  ['reverse-wrap', `${CSI}?45h${x80}ab`],
  ['focus-events', `${CSI}?1004hvim-like`],
  ['input-modes', `${CSI}?1h${E}=${CSI}?2004h${CSI}?1002h${CSI}?1006h`],
  ['mouse-any-utf8', `${CSI}?1003h${CSI}?1005h`],
  ['cursor-hidden-style', `${CSI}?25l${CSI}5 qtext`],
  ['title', `${OSC}2;my title\x07text${OSC}0;second${E}\\`],
  // Saved cursor (DECSC / DECRC)
  ['decsc-state', `${CSI}5;7H${CSI}1;31;4:3m${E}(0${E}7${CSI}H${CSI}m${E}(Btext`],
  ['decsc-origin', `${CSI}3;20r${CSI}?6h${CSI}2;2H${E}7${CSI}?6l${CSI}r${CSI}10;10H`],
  ['decsc-then-restore', `${CSI}5;5H${CSI}32m${E}7${CSI}H${CSI}m${E}8after`],
  // Wrapping
  ['soft-wrap', `${x80}abc\r\nnext`],
  ['wrap-pending', x80],
  ['wide-at-margin', `${'x'.repeat(79)}中文`],
  ['wide-chars', `中文字 emoji 😀 a\u0301 combining`],
  // Autowrap off at the margin (xterm.js keeps a wide character whole when
  // its right half is written over from a pending wrap, or within the run
  // of text that dropped a wide character there)
  ['nowrap-wide-pending', `${CSI}?7l${'x'.repeat(78)}中ab`],
  ['nowrap-wide-dropped-run', `${CSI}?7l${'x'.repeat(77)}y中文ab`],
  ['nowrap-wide-new-run', `${CSI}?7l${'x'.repeat(78)}中${CSI}1;80Ha`],
  ['nowrap-wide-combining', `${CSI}?7l${'x'.repeat(78)}中a\u0301`],
  ['tab-stop-past-margin', `${x80}${E}H\r\n\tA`],
  ['underline-colour-alone', `${x80}${CSI}58:5:3m`],
  ['underline-colour-alone-then-text', `${CSI}58:2::1:2:3mtext`],
  ['hidden-pen-pending-wrap', `${CSI}4:3;58:5:9m${E}7${CSI}0m${E}8${CSI}24m${x80}`],
  ['erase-splits-wide', `${CSI}4:5;31m中文字${CSI}m${CSI}1;2H${CSI}X${CSI}1;6H${CSI}K`],
  ['insert-pushes-wide-out', `${'y'.repeat(17)}中${CSI}1G${CSI}4h${CSI}4:3;58:5:3mab`, 20, 5],
  // Erase with background colour
  ['bce-insert-lines', `line1\r\nline2\r\nline3\r\n${CSI}44m${CSI}2;1H${CSI}2L${CSI}m`],
  ['bce-erase', `${CSI}41m${CSI}2J${CSI}3;3H${CSI}K${CSI}5;1H${CSI}2X${CSI}6;1H${CSI}3@${CSI}7;1H${CSI}2P${CSI}S${CSI}T${CSI}m`],
  ['bce-delete-lines', `a\r\nb\r\nc\r\n${CSI}43m${CSI}1;1H${CSI}M${CSI}m`],
  // Screens and regions
  ['alt-screen', `primary text${CSI}5;5Hp2${CSI}?1049h${CSI}Halt text`],
  ['alt-screen-region', `primary${CSI}?1049h${CSI}2;20r${CSI}10;1Halt${CSI}?1h`],
  ['alt-47', `primary${CSI}?47halt47`],
  ['scroll-region', `${CSI}3;10r${CSI}10;1Hinside\r\n\r\nscrolled`],
  ['after-alt-exit', `primary${CSI}?1049halt${CSI}?1049lback`],
  // Sizes
  ['wide-screen', `${CSI}1;31m${'w'.repeat(150)}${CSI}m\r\n${E}(0lqk`, 120, 40],
];
