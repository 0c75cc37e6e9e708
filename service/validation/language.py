"""Phrase knowledge the validator judges meaning with (precompiled once at import)."""

from __future__ import annotations

import re


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())

# Timing that names no time and no cue. Vague phrases are stripped first; what is
# left must still name a time or a cue for the timing to count as specific.
VAGUE_WHEN = re.compile(
    r"\b(you're free|you are free|some ?time|some point|"
    r"at some (point|stage)|at any (point|time)|any ?time|"
    r"when(ever)? (you|i|we|she|he|they) (get a (chance|moment|minute)|can|remember|"
    r"have (the |a )?(time|chance|"
    r"moment|minute|spare moment)|feel (like it|ready|up to it|able)|are free|"
    r"get (a|the) chance|get round to it|get around to it|think of it|want|like|fancy)|"
    r"when(ever)? (it|that) (suits|works)( you)?|when(ever)? the mood (takes|strikes) you|"
    r"when convenient|at a (good|convenient|suitable) time|"
    r"(at )?a time that (suits|works)( for)?( you)?|in your (own|free|spare) time|"
    r"if (you|i|we|she|he|they) (have|has|get|gets) (a|the) (moment|minute|chance|time)|"
    r"if (you|i|we|she|he|they) (have|has) time|"
    r"(a|any|your) spare moment|once in a while|"
    r"whenever( suits| works| possible)?|this week|next week|during the (week|day)|"
    r"over the (week|weekend)|later( on| in the (day|week)| today)?|one day|"
    r"when possible|as needed|tbd|tbc|n/?a|daily|every ?day|each day|once a day)\b", re.I)
SPECIFIC_WHEN = re.compile(
    r"(\b\d{1,2}([:.]\d{2})?\s*(am|pm|a\.m\.|p\.m\.)|\b\d{1,2}[:.]\d{2}\b|"
    r"\b(noon|midday|midnight|"
    r"(right |straight |just |directly |immediately )?(after|before|on|upon)\s+(you |your |the )?"
    r"(wak|brush|lunch|dinner|breakfast|tea|supper|coffee|work|school|shift|class|bed|"
    r"get|arriv|leav|finish|walk|shower|bath|meal|drop|pick|let|switch|turn|put|park|"
    r"come|sit|open|clos|log|start|end|feed|walk|run|gym|prayer|church|session|appoint)\w*|"
    r"(after|before) (the|your) \w+|as soon as|first thing|the moment|"
    r"when (you|she|he|they|your|the) (get|arrive|wake|sit|finish|come|leave|walk|open|"
    r"close|put|switch|brush|let|drop|pick|start|turn|notice|feel the|hear|see|spot|catch|"
    r"kids|alarm|bus|train|baby|dog|partner)\w*|"
    r"during (your|the) (?!(week|day)\b)\w+|on (the|your) (way|bus|train|tram|walk|drive|"
    r"commute|school run|ferry)|"
    r"mornings?|evenings?|nights?|bedtime|lunch\w*|breakfast|dinner|supper|tea ?time|"
    r"mondays?|tuesdays?|wednesdays?|thursdays?|fridays?|saturdays?|sundays?|"
    r"(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)|"
    r"with your (first|morning|evening|coffee|tea)|at the (start|end|beginning) of|"
    r"(each|every) time|whenever (an?|the|you notice|you feel the|a|your|she|he|they) \w+|"
    r"when (an?|the) (urge|craving|worry|thought|panic|flashback|memory|feeling) \w+))\b", re.I)

VAGUE_WHERE = re.compile(
    r"^\W*((any ?where|some ?where|wherever|any ?place|any room|any spot)( (that )?"
    r"(you|i|we|she|he|they) ?('re|'m|are|am|is)? ?(like|likes|want|wants|choose|chooses|"
    r"fancy|fancies|can|happen to be|happens to be|feel like|feels like|find|finds|are|is)?)?"
    r"( it)?|(any ?where|some ?where|wherever|any ?place|any spot|any room) (that |which )?"
    r"(suits|works)( you)?|"
    r"(any ?where|some ?where|wherever) (that )?(feels?|seems?|is) (ok|okay|right|safe|"
    r"comfortable|good|fine|convenient)( (to|for) you)?|around the (house|home|flat|place|office)|"
    r"where you can|"
    r"where ?ever|wherever suits|wherever works|"
    r"where(ever)? (is|feels) (comfortable|convenient|best)|no fixed place|any|various|"
    r"around|out|home or anywhere|up to you|your choice|n/?a|tbd|tbc|-+)\W*$", re.I)

VAGUE_FREQUENCY = re.compile(
    r"\b(often|regularly|as (much|often) as (you can|possible|you like|you want)|"
    r"most (days|weeks|evenings|mornings)|from time to time|some ?times|occasionally|"
    r"when(ever)? (needed|you can|you like|you want|you feel like it|possible|you remember|"
    r"you have time)|whenever|as needed|as and when|(a|several) (few|couple of)? ?times|"
    r"several times|a couple of times|(every )?now and (then|again)|every so often|"
    r"every once in a while|once in a while|frequently|a lot|when possible|if you can|"
    r"as required|more often|here and there|on and off|when you remember|\w+-ish|ish|"
    r"tbd|tbc|n/?a|ongoing|a bit|some)\b", re.I)
# A practice tied to a trigger ("whenever the urge shows up") is specific.
TRIGGERED = re.compile(
    r"\b(whenever|every time|each time|any time|anytime|when) (an?|the|your|you notice|"
    r"you feel the|you catch|you spot|you hear|she|he|they) (?!(chance|mood|time)\b)\w+", re.I)
SPECIFIC_FREQUENCY = re.compile(
    r"\b(\d+ ?x|x ?\d+|\d+|once|twice|thrice|one|two|three|four|five|six|seven|eight|nine|"
    r"ten|every|each|"
    r"daily|nightly|weekly|mondays?|tuesdays?|wednesdays?|thursdays?|fridays?|saturdays?|"
    r"sundays?|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|weekdays?|weekends?|"
    r"in a row|mornings?|evenings?|nights?|days|workdays?|weeknights?|sessions?|breaks?|"
    r"lunchtimes?|meals?|shifts?)\b", re.I)

# A back-up "plan" that is only a push, not an if-then alternative.
NON_PLAN = re.compile(
    r"^\W*(just )?(try (harder|your best|again|to remember)|push through( it)?|do it anyway|"
    r"don'?t give up|stay strong|be strong|keep going|remember to do it|make sure you do it|"
    r"no excuses|tbd|tbc|n/?a|none|nothing|\?+|-+|see above|we'?ll see|deal with it|"
    r"keep (trying|at it|pushing)|you'?ve got this|you can do (it|this)|believe in yourself|"
    r"stay positive|don'?t worry( about it)?|never give up|just do it|try again tomorrow)\W*$",
    re.I)
# what counts as done, and what to record, that says nothing
NON_ANSWER = re.compile(
    r"^\W*(just )?(do (your|the) best( you can)?|try (your )?(best|hard)|see how it goes|"
    r"whatever you can( manage| do)?|as much as (you can|possible)|give it a (go|try)|"
    r"tbd|tbc|n/?a|none|nothing|not sure|-+|\?+|see above|your call|up to you)\W*$", re.I)

THIN_RATIONALE = re.compile(
    r"\b(it('ll| will)? helps?|(it'?s|is) good for you|research (shows|says|proves)|"
    r"studies (show|prove|say)|(it'?s|is) (proven|evidence[- ]based)|it works|"
    r"(this|it) is (helpful|useful|effective)|trust me|because i said|"
    r"(it'?s|it is|this is) (a )?(really |very |super )?(useful|helpful|good|great|effective)|"
    r"(lots of |many |most )?people find (it |this )?(helpful|useful)|"
    r"therapists recommend|it is recommended)\b", re.I)

SHAMING = re.compile(
    r"\b(lazy|laziness|slack(ing|er)?|pathetic|no excuses?|excuses|should(n'?t)? have|"
    r"useless|worthless|weak|stupid|failures?|(you|you'?ve|you have|you'?re|if you|don'?t|"
    r"do not|never|not) (fail|failed|failing)|fail(ed|ing)? (again|at (it|this|that|everything))|"
    r"pass/fail|(don'?t|do not) let (me|us|them|your \w+) down|"
    r"don'?t (mess|screw) (this|it) up|your (own )?fault|disappoint\w*|bad at|"
    r"you (always|never) (\w+ )?(give up|fail|forget|mess|bother|listen|follow through|finish|"
    r"try|manage|stick)|get it right this time|no more excuses|lack of (effort|willpower)|"
    r"grade[ds]? (you|your)|pass or fail)\b", re.I)
# Words that praise a practice without saying why it helps (a rationale of only these is thin).
PRAISE = _wordset(
    "useful helpful good great effective exercise exercises practice tool thing lots many "
    "most people find found works work working research shows studies proven evidence based "
    "really definitely recommended recommend therapists try trying worth")
# A quotation: double or curly quotes, or single quotes that may hold apostrophes ("I'm").
QUOTED = re.compile(r"\"[^\"\n]{1,120}\"|“[^”\n]{1,120}”|‘[^’\n]{1,120}’|"
                    r"(?<!\w)'(?:[^'\n]|'(?=\w)){1,120}'(?!\w)")
FIRST_PERSON = re.compile(r"\b(i|i'm|im|i've|i'll|me|my|myself)\b")
# What introduces the client's own thought ("the critic says 'you're lazy'").
INTRODUCES_THOUGHT = re.compile(
    r"\b(critic\w*|voice|thoughts?|says?|said|tells? you|telling you|calls? you|things like|"
    r"for example|e\.g\.|such as|words)\b[^.;!?]{0,30}$")
# A thought reported without quotes: "your mind keeps telling you you're useless".
REPORTED_THOUGHT = re.compile(
    r"\b(tell(s|ing)? you|call(s|ing)? you|the thought that|thinking that|believ\w+ that)\b"
    r"[^.;!?\n]{0,30}")
NOT_SHAMING = re.compile(r"\b(can'?t|cannot|won'?t|no way to|impossible to) fail\b", re.I)

RISK = re.compile(
    r"\b(suicid\w*|kill(ing|ed|s)? (my|him|her|them|your|one)sel(f|ves)|"
    r"end(ing|ed|s)? (my|his|her|their|your) (own )?life|take (my|his|her|their|your) own life|"
    r"end it all|self[- ]?harm\w*|self[- ]?injur\w*|"
    r"(harm|hurt|cut|burn|hit|starv|hang|strangl)(s|ing|ed|t)? (my|him|her|them|your)sel(f|ves)|"
    r"cutting|overdos\w*|(want|wish|wanted|wanting|wants|wishing)( \w+)? to (die|be dead)|"
    r"wish(es|ed)? (i|she|he|they) (was|were) dead|better off dead|no reason to live|"
    r"(do not|don'?t|doesn'?t|not) (want|wanting|wish) to (be here|live|be alive|wake up)|"
    r"thoughts of (death|dying|ending)|(hurt|harm|kill|attack|stab|strangle)(ing|s|ed)? "
    r"(someone|somebody|others|other people|the (baby|child|kids)|my (partner|baby|child|kids)|"
    r"(his|her|their) (partner|baby|child|kids|wife|husband|girlfriend|boyfriend))|"
    r"harm to others|threat(en|ened|ens|ening)? to (kill|hurt|harm)|abus(e|ed|er|ers|ive|ing)|"
    r"domestic violence|violen(t|ce)|(hits?|hitting|beats?|beating|punch(es|ed)?|chok(es|ed))"
    r" (me|her|him|them)\b|assault\w*|rape\w*|coercive control|safeguarding)", re.I)
NOT_RISK = re.compile(
    r"\b(killing time|dying (to|for)|kill for|cut (down|back|out)|cutting (down|back|out|"
    r"board|corners|edge|it (fine|close))|(paper|hair|grass|wood|onion|fabric)[- ]?cutting|"
    r""
    r"substance abuse (history )?(service|team)|drug abuse service)\b", re.I)

TASK_VERBS = _wordset(
    "reply write call ring email text send talk speak ask get go take make do read "
    "fill plan book clean tidy cook buy pay sort apply visit meet phone post arrange "
    "find organise organize check list prepare finish start walk sign join register enrol "
    "enroll schedule order collect return drop fix wash submit message contact invite stop "
    "cut watch switch turn set avoid"
)

# Separate errands: two of these in one task are two tasks.
ERRAND_VERBS = _wordset(
    "reply call ring email text send book clean tidy cook buy pay apply visit phone post "
    "arrange organise organize shop wash hoover vacuum fix submit message contact"
)
NUMBERED = re.compile(r"(^|\s)(1[.)]|\(1\)|first,).*?(\s|^)(2[.)]|\(2\)|second,)", re.I | re.S)

HARDEST = re.compile(
    r"\b(start (with|at) the (hardest|worst|top)|(the )?hardest (step|one|situation)|"
    r"worst (fear|situation|step)|top (step|rung) of|top of (the|your|her|his) (hierarchy|ladder)|"
    r"jump (straight )?(in|to the top)|flood(ing)? (yourself|her|him))", re.I)
STATED_DISTRESS = re.compile(
    r"\b(?:distress|suds|anxiety|fear)\D{0,20}?(\d{1,3})(?!\d)(?:\s*(?:/|out of)\s*100)?", re.I)
CAUTION_SPLIT = re.compile(r",|;|\(|\)| or | without | unless | where | that | rather than | and ")
CAUTION_FILLER = _wordset(
    "client clients use used plan place first yet real specialist input people person "
    "situations situation needs need follow steps advice medical session ones"
)

STOP = _wordset(
    "a an the and or but to of in on at for with by from into about as is are was "
    "were be been being it its this that these those you your yours i me my we our "
    "they them their she her he him his can could will would should may might just so "
    "very more less than then there here what when where who how why all any each "
    "every some one do does did done have has had not no yes get gets help helps "
    "helping make makes feel feels like up out over again also even still back way "
    "things thing lot bit small little"
)

# Concept groups: word roots (prefixes) that talk about the same thing.
SYNONYMS: tuple[tuple[str, ...], ...] = tuple(tuple(g.split()) for g in (
    "sleep slept asleep awak wake waki woke insomn bed night tired rest drows nap dream",
    "mood low depress down sad flat energ motiv glum blue unhapp happ joy pleas enjoy",
    "anxi anxious worr fear afraid panic nervous scar calm stress tens relax wound "
    "uneas dread frighten phob soothe overwhelm",
    "friend social people connect lonel isolat company companion alone contact reach"
    " together",
    "kind compas critic harsh gentl self-crit shame ashamed guilt",
    "urge crav vap drink smok alcohol cigaret nicotin substan drug relaps sober bing gambl",
    "partner couple relat marriag husband wife girlfriend boyfriend spouse argu row fight "
    "conflict repair closer distan disconnect bicker",
    "creativ creat art photo paint draw sketch music writ craft",
    "work job career shift colleag boss office",
    "school class lesson teacher studi exam college universit",
    "tension tight muscl neck shoulder back jaw ache pain sore loose",
    "angr anger rage irrit temper frustrat snap",
    "grief griev loss lost bereave mourn died death",
    "trauma flashback memor nightmare dissoc floaty unreal present ground here-and-now",
    "jealous trust suspic insecur",
    "assert request ask refer speak voice stand boundar",
    "thought think mind rumin believ",
    "out outside house home leav walk go",
    "kid child son daughter parent famil mum dad",
    "focus concentrat scatter distract attention present",
    "avoid escap face approach cope",
    "exercis activ fit move sport gym climb",
    "medic medicin tablet dose psychiatr doctor gp",
    "eat food meal appetit",
    "problem solv sort decid option dispute",
    "value matter meaning purpose identit myself",
    "confiden belief believ capab self-esteem self-worth proud achiev",
))


def _build_roots() -> dict[str, frozenset[int]]:
    roots: dict[str, set[int]] = {}
    for i, group in enumerate(SYNONYMS):
        for root in group:
            roots.setdefault(root, set()).add(i)
    return {root: frozenset(ids) for root, ids in roots.items()}


ROOTS = _build_roots()
# What may follow a root of four letters or fewer ("_" for nothing): "flat" is in "flattest",
# not in "flatmates"; no "-er", since "lowers your blood pressure" is no low mood.
SHORT_ROOT_ENDINGS = _wordset(
    "_ s es ed d est ly ness ing ings y ier iest ily ies e ful less ish")
ROOT_LENGTHS = tuple(sorted({len(r) for r in ROOTS}))

# Goal words that carry no topic ("feel less X", "get back to Y").
GOAL_FILLER = _wordset(
    "stop start less more able again better want need try going keep stay being "
    "really much many able stuck instead without within"
)

# Everyday words whose syllables are counted once at start-up (speed only).
COMMON_WORDS = _wordset(
    "about after again always another around away before being better body breath "
    "breathe breathing calm can't change client comes coming could day days different "
    "doing down during easier easy enough even every evening everything feel feeling "
    "feelings first friend friends getting give going good happen happened happens help "
    "helps home idea into just keep kind know later learn less life little look make "
    "makes matter matters mind minute minutes moment more morning most much night notice "
    "noticing often only other over part people phone plan practice practise really "
    "right same second session should show shows since small some something sometimes "
    "start step steps still stop take takes talk than that their them then there these "
    "they thing things think this those thought thoughts through time tiny today "
    "together tomorrow towards trying under until upon used using very want week what "
    "when where which while will with without word words work worry write writing "
    "your yourself"
)


def _case_sensitive() -> None:
    """Callers pass lower-cased text: matching without IGNORECASE is about three times faster."""
    for name, value in list(globals().items()):
        if isinstance(value, re.Pattern) and value.flags & re.IGNORECASE:
            globals()[name] = re.compile(value.pattern, value.flags & ~re.IGNORECASE)


_case_sensitive()
