// Hand-written byte streams for the differential harness: one or more per
// feature the server's screen must carry into a snapshot. Each is
// [name, stream] (80x24) or [name, stream, cols, rows]. Streams end with
// the feature still in effect where that matters (a late joiner arrives
// in the middle of a program, not after it cleaned up).

const E = '\x1b';
const CSI = `${E}[`;
const OSC = `${E}]`;
const x80 = 'x'.repeat(80);

/**
 * `text` padded with spaces to a multiple of 6 bytes: the example
 * (screen-snapshot.rs) then feeds it in chunks of 1, 7, 4096, … bytes,
 * cutting it after byte 1 and byte 8.
 */
function cutAt1And8(text) {
  const len = Buffer.byteLength(text, 'utf8');
  return text + ' '.repeat((6 - (len % 6)) % 6);
}

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
  // With reverse wraparound, BS from a pending wrap goes to the last column;
  // back over a soft wrap, past the cell a wide character did not fit in
  ['reverse-wrap-bs-pending', `${CSI}?45h${x80}\bA`],
  ['reverse-wrap-bs-wide-left', `${CSI}?45h${'x'.repeat(79)}中\r\bA`],
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
  // A pending wrap on a row left blank (scrolled up, or erased with a
  // background colour), in origin mode too
  ['wrap-pending-blank-row', `${x80}${CSI}S`],
  ['wrap-pending-blank-row-origin', `${CSI}?6h${x80}${CSI}S`],
  ['wrap-pending-erased-row', `${CSI}44m${x80}${CSI}2K${CSI}m`],
  ['wide-at-margin', `${'x'.repeat(79)}中文`],
  ['wide-chars', `中文字 emoji 😀 a\u0301 combining`],
  // A character cut between two reads with more text after its end (an é
  // cut after byte 8, the next chunk starting with its end, V and 文)
  ['utf8-cut-between-reads', cutAt1And8(`xabcdeféV文字 after`)],
  // Autowrap off at the margin (xterm.js keeps a wide character whole when
  // its right half is written over from a pending wrap, or within the run
  // of text that dropped a wide character there)
  ['nowrap-wide-pending', `${CSI}?7l${'x'.repeat(78)}中ab`],
  ['nowrap-wide-dropped-run', `${CSI}?7l${'x'.repeat(77)}y中文ab`],
  ['nowrap-wide-new-run', `${CSI}?7l${'x'.repeat(78)}中${CSI}1;80Ha`],
  ['nowrap-wide-combining', `${CSI}?7l${'x'.repeat(78)}中a\u0301`],
  // A wide character dropped at the margin ends a run of text on the right
  // half of another: xterm.js empties that half with the run's pen and
  // leaves the wide character (a wide cell with no right half)
  ['nowrap-wide-dropped-run-end', `${CSI}?7l${'x'.repeat(78)}中${CSI}4:3;35m文${CSI}m\r\n${'y'.repeat(77)}字😀 after`],
  ['tab-stop-past-margin', `${x80}${E}H\r\n\tA`],
  ['underline-colour-alone', `${x80}${CSI}58:5:3m`],
  ['underline-colour-alone-then-text', `${CSI}58:2::1:2:3mtext`],
  // Cells underlined with no underline style: a DECRC brings back the
  // underline flag of a pen whose style was cleared since (with an
  // underline colour too; a link would show as dashed whatever the style)
  ['styleless-cells', `${CSI}4;31m${E}7${CSI}24m${E}8styleless${CSI}m plain ${CSI}4:3;58:5:2m${E}7${CSI}4:0m${CSI}3;5H${E}8coloured${CSI}m end`],
  // An underline style a DECRC hid, counting again after an OSC 8: cells
  // with an underline colour and no underline
  ['hidden-style-cells', `${E}7${CSI}4:5;1m${E}8${OSC}8;;\x07${CSI}58:2::186:210:52mhidden colour${CSI}m plain`],
  ['hidden-pen-pending-wrap', `${CSI}4:3;58:5:9m${E}7${CSI}0m${E}8${CSI}24m${x80}`],
  ['erase-splits-wide', `${CSI}4:5;31m中文字${CSI}m${CSI}1;2H${CSI}X${CSI}1;6H${CSI}K`],
  // Empty cells keeping a pen at the end of the last row: the left half of
  // a wide character cut by a red q, one a wide character did not fit in,
  // scrolled down there
  ['last-row-pens', `top${CSI}23;78H${CSI}4m中${CSI}23;78H${CSI}0;31mq${CSI}23;80H${CSI}1;35;44m中${CSI}m${CSI}T`],
  ['insert-pushes-wide-out', `${'y'.repeat(17)}中${CSI}1G${CSI}4h${CSI}4:3;58:5:3mab`, 20, 5],
  // Erase with background colour
  ['bce-insert-lines', `line1\r\nline2\r\nline3\r\n${CSI}44m${CSI}2;1H${CSI}2L${CSI}m`],
  ['bce-erase', `${CSI}41m${CSI}2J${CSI}3;3H${CSI}K${CSI}5;1H${CSI}2X${CSI}6;1H${CSI}3@${CSI}7;1H${CSI}2P${CSI}S${CSI}T${CSI}m`],
  ['bce-delete-lines', `a\r\nb\r\nc\r\n${CSI}43m${CSI}1;1H${CSI}M${CSI}m`],
  // Screens and regions
  ['alt-screen', `primary text${CSI}5;5Hp2${CSI}?1049h${CSI}Halt text`],
  ['alt-screen-region', `primary${CSI}?1049h${CSI}2;20r${CSI}10;1Halt${CSI}?1h`],
  ['alt-47', `primary${CSI}?47halt47`],
  // IL and DL below the region do nothing but end a pending wrap
  ['dl-outside-region-pending-wrap', `${CSI}1;4r${CSI}6;1H${x80}${CSI}M`],
  ['il-outside-region-pending-wrap', `${CSI}3;8r${CSI}1;1H${x80}${CSI}2L`],
  ['scroll-region', `${CSI}3;10r${CSI}10;1Hinside\r\n\r\nscrolled`],
  // The alternate screen keeps its saved cursor across switches (xterm.js)
  ['alt-saved-cursor-kept', `${CSI}?1049h${CSI}3;7H${CSI}1;4:3;35m${E}(0${E}7${CSI}m${E}(B${CSI}?1049lprimary${CSI}?1047hback on alt`],
  ['after-alt-exit', `primary${CSI}?1049halt${CSI}?1049lback`],
  // Sizes
  ['wide-screen', `${CSI}1;31m${'w'.repeat(150)}${CSI}m\r\n${E}(0lqk`, 120, 40],
];
